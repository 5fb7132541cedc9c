// emergency-vehicle priority: being written by a helper; replaced wholesale
export {};
