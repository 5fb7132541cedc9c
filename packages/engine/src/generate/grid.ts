// being written: see the helper working on generate/grid
export {};
