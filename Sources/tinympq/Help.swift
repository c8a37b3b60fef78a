enum Help {
    static let main = """
    tinympq: turns a float CNN (ONNX) and a microcontroller memory budget into mixed 2/4/8-bit
    integer-only C code, with a report of what it cost in accuracy.

    USAGE: tinympq <command> [options]

    COMMANDS:
      watch [FOLDER]         the daemon: process models dropped into FOLDER (default watched/)
      run [FOLDER|FILE...]   process every model once (default folder: watched/) and exit
      status                 the daemon's state, queue and last results
      explain [FOLDER|FILE...]  what `run` would run and why, without running it
      gc                     remove old cache entries
      infer MODEL            run the float model on a NumPy batch and write its outputs
      bench MODEL            time parsing and the float engine (used by make bench)
      version                print the version
      help [COMMAND]         show help for a command

    Exit codes: 0 ok, 1 a stage failed, 2 usage or configuration error, 3 validation failed,
    4 no inputs, 9 lock busy, 130/143 interrupted.
    """

    static let run = """
    USAGE: tinympq run [FOLDER|FILE...] [--out DIR] [options]

    Runs parse → search → quantize → validate for each model (*.onnx, *.tflite) in the given folders
    (not recursive) and files, and writes OUT/NAME/: report.md, report.json, graph.json,
    policy.json, sensitivity.json, quantized.json, validation.json and logs/NN-stage.log.
    Outputs are published atomically: a reader sees the previous complete folder or the new one.

    Files beside the model are found by name: NAME.budget.json (else budget.json, else
    pipeline/budget.default.json: 2 MB FLASH, 512 kB RAM), NAME.npz (calibration: array x,
    optional labels y), NAME.val.npz (held-out validation), NAME.policy.json (bits per tensor;
    skips the search). Without data the model is calibrated on synthetic inputs and no accuracy
    is claimed. A budget file with several budgets writes OUT/NAME.BUDGET/ for each.

    OPTIONS:
      --out DIR                 output folder (default: output/)
      --until STAGE             stop after parse, search, quantize, validate or codegen (default: codegen)
      --budget FILE             budget file instead of NAME.budget.json / budget.json
      --policy FILE             bits per tensor (JSON; see README) instead of searching
      --bits N                  uniform 2, 4 or 8 bits instead of searching
      --data FILE               calibration data instead of NAME.npz
      --validation-data FILE    validation data instead of NAME.val.npz
      --max-accuracy-drop PTS   fail with exit code 3 when top-1 accuracy drops more
      --cache DIR               cache folder (default: .tinympq-cache beside the output folder)
      --no-cache                run every stage, store nothing
      --no-wait                 exit 9 instead of waiting when another run holds the lock
      --threads N               worker threads (default: 2)
      --input-shape SHAPE       full input shape for models with free dimensions
      -h, --help                show this help

    Exit code: 0 all models ok, 1 a stage failed, 2 bad option, budget or policy, 3 budget
    infeasible or accuracy gate missed, 4 no model found.
    """

    static let watch = """
    USAGE: tinympq watch [FOLDER] [--out DIR] [--cache DIR] [--settle SECONDS] [--poll SECONDS]

    Watches FOLDER (default watched/, recursively, with inotify) and runs the cached pipeline
    for every model whose model, budget, data or policy file changes: after the file has been
    quiet for --settle seconds (default 0.5) and its size and time stopped changing; identical
    content (a touch, a copy of the same bytes) does nothing. Temporary names (dotfiles,
    *.part, *.tmp, *~, *.swp) are ignored. At start every file is looked at once.

    SIGTERM/SIGINT stop gracefully (the running stage is cancelled, staging removed, previous
    outputs intact, exit 0); SIGHUP rescans. status.json in the cache folder is kept current;
    `tinympq status` prints it. One-shot runs and the daemon share one lock.

    OPTIONS:
      --out DIR           output folder (default: output/)
      --cache DIR         cache folder (default: .tinympq-cache beside the output folder)
      --settle SECONDS    quiet period before a changed file is processed (default 0.5)
      --poll SECONDS      poll instead of inotify (network file systems)
      --threads N         worker threads (default: 2)
    """

    static let infer = """
    USAGE: tinympq infer MODEL --input X.npy --output Y.npy [--quantized OUTPUT_FOLDER] [--threads N]

    Runs the float reference engine (or, with --quantized, the integer engine on the model
    that `tinympq run` wrote to OUTPUT_FOLDER/quantized.json) on a batch of inputs (first axis = batch, the model's
    layout, float32) read from a .npy file (or the array `x` of an .npz) and writes the
    model output as a float32 .npy file, or, when the model has several outputs, all of them
    as an .npz with one array per output name. The input's shape fixes any input dimension
    the model leaves free (such as [-1, 3, ?, ?]).

    OPTIONS:
      --input FILE          .npy or .npz with the inputs
      --output FILE         where to write the outputs (.npy; .npz for several outputs)
      --quantized FOLDER    run the quantized model from a `tinympq run` output folder
      --threads N           worker threads (default: 2)
      --input-shape SHAPE   override the input shape (free dimensions come from the input)
      -h, --help            show this help
    """
}
