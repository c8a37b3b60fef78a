enum Help {
    static let main = """
    tinympq: turns a float CNN (ONNX) and a microcontroller memory budget into mixed 2/4/8-bit
    integer-only C code, with a report of what it cost in accuracy.

    USAGE: tinympq <command> [options]

    COMMANDS:
      run [FOLDER|FILE...]   process every model once (default folder: watched/) and exit
      infer MODEL            run the float model on a NumPy batch and write its outputs
      bench MODEL            time parsing and the float engine (used by make bench)
      version                print the version
      help [COMMAND]         show help for a command

    Exit codes: 0 ok, 1 a stage failed, 2 usage or configuration error, 3 validation failed,
    4 no inputs, 9 lock busy, 130/143 interrupted.
    """

    static let run = """
    USAGE: tinympq run [FOLDER|FILE...] [--out DIR] [--threads N] [--input-shape 1,3,H,W]

    Processes each model (*.onnx) in the given folders (not recursive) and files, and writes
    OUT/NAME/: graph.json, report.md, report.json and logs/NN-stage.log. Outputs are published
    atomically: a reader sees the previous complete folder or the new one.

    OPTIONS:
      --out DIR             output folder (default: output/)
      --threads N           worker threads for the float engine (default: 2)
      --input-shape SHAPE   full input shape for models with free dimensions
      -h, --help            show this help

    Exit code: 0 when every model succeeded, 1 when any stage failed, 4 when no model was found.
    """

    static let infer = """
    USAGE: tinympq infer MODEL --input X.npy --output Y.npy [--threads N] [--input-shape SHAPE]

    Runs the float reference engine on a batch of inputs (first axis = batch, the model's
    layout, float32) read from a .npy file (or the array `x` of an .npz) and writes the first
    model output as a float32 .npy file.

    OPTIONS:
      --input FILE          .npy or .npz with the inputs
      --output FILE         where to write the outputs (.npy)
      --threads N           worker threads (default: 2)
      --input-shape SHAPE   full input shape for models with free dimensions
      -h, --help            show this help
    """
}
