// being written: see the helper working on loaders/sumo
export {};
