// being written: see the helper working on loaders/cityflow
export {};
