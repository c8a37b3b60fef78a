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
    USAGE: tinympq run [FOLDER|FILE...] [--out DIR] [options]

    Runs parse → quantize → validate for each model (*.onnx) in the given folders (not
    recursive) and files, and writes OUT/NAME/: report.md, report.json, graph.json,
    quantized.json, validation.json and logs/NN-stage.log. Outputs are published atomically: a
    reader sees the previous complete folder or the new one.

    Data beside the model is found by name: NAME.npz (calibration: array x, optional labels y),
    NAME.val.npz (held-out validation), NAME.policy.json (bits per tensor). Without data the
    model is calibrated on synthetic inputs and no accuracy is claimed.

    OPTIONS:
      --out DIR                 output folder (default: output/)
      --until STAGE             stop after parse, quantize or validate (default: validate)
      --policy FILE             bits per tensor (JSON; see README) instead of NAME.policy.json
      --bits N                  uniform bit-width when there is no policy: 2, 4 or 8 (default 8)
      --data FILE               calibration data instead of NAME.npz
      --validation-data FILE    validation data instead of NAME.val.npz
      --max-accuracy-drop PTS   fail with exit code 3 when top-1 accuracy drops more
      --threads N               worker threads (default: 2)
      --input-shape SHAPE       full input shape for models with free dimensions
      -h, --help                show this help

    Exit code: 0 all models ok, 1 a stage failed, 2 bad option or policy, 3 accuracy gate
    missed, 4 no model found.
    """

    static let infer = """
    USAGE: tinympq infer MODEL --input X.npy --output Y.npy [--quantized OUTPUT_FOLDER] [--threads N]

    Runs the float reference engine (or, with --quantized, the integer engine on the model
    that `tinympq run` wrote to OUTPUT_FOLDER/quantized.json) on a batch of inputs (first axis = batch, the model's
    layout, float32) read from a .npy file (or the array `x` of an .npz) and writes the first
    model output as a float32 .npy file.

    OPTIONS:
      --input FILE          .npy or .npz with the inputs
      --output FILE         where to write the outputs (.npy)
      --quantized FOLDER    run the quantized model from a `tinympq run` output folder
      --threads N           worker threads (default: 2)
      --input-shape SHAPE   full input shape for models with free dimensions
      -h, --help            show this help
    """
}
