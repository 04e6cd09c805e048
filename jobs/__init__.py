"""Jobs and the command line: the imperative shell that wires the pipeline to the world."""
