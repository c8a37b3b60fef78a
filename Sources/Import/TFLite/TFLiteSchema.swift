/// The parts of TensorFlow Lite's `schema.fbs` that tinympq reads, decoded into plain values.
/// Field slots are the schema's field order (slot n is the n-th field of the table); defaults are
/// the schema's.
struct TFLiteModel {
    struct OperatorCode {
        /// max(deprecated_builtin_code, builtin_code), as TensorFlow's `GetBuiltinCode` does:
        /// old files set only the int8 field, new ones set both (127 in the old one past 126).
        var builtin: Int
        var custom: String?
    }

    struct Tensor {
        var shape: [Int]
        var type: Int
        var buffer: Int
        var name: String
        /// `SparsityParameters` of a sparse constant (expanded by DENSIFY), when present.
        var sparsity: FlatBufferReader.Table? = nil
    }

    struct Operator {
        var opcodeIndex: Int
        var inputs: [Int]
        var outputs: [Int]
        /// The builtin options table (decoded per op by the importer), when present.
        var options: FlatBufferReader.Table?
        /// The raw `custom_options` bytes of a custom operator.
        var customOptions: Range<Int>? = nil
    }

    struct SubGraph {
        var tensors: [Tensor]
        var inputs: [Int]
        var outputs: [Int]
        var operators: [Operator]
        var name: String
    }

    var version: Int
    var operatorCodes: [OperatorCode]
    var subgraphs: [SubGraph]
    /// Each buffer's bytes in the file (empty for buffer 0, the schema's sentinel, and for
    /// activations).
    var buffers: [Range<Int>]

    init(_ r: FlatBufferReader) throws {
        let root = try r.root(identifier: "TFL3")
        version = try r.int(root, 0, size: 4, signed: false, default: 0)
        operatorCodes = try r.tables(root, 1, "operator_codes").map { t in
            let deprecated = try r.int(t, 0, size: 1, signed: true, default: 0)
            let code = try r.int(t, 3, size: 4, signed: true, default: 0)
            return OperatorCode(builtin: max(deprecated, code), custom: try r.string(t, 1, "custom_code"))
        }
        subgraphs = try r.tables(root, 2, "subgraphs").enumerated().map { (s, t) in
            let tensors = try r.tables(t, 0, "subgraph \(s) tensors").enumerated().map { (i, tt) in
                Tensor(shape: try r.int32s(tt, 0, "tensor \(i) shape") ?? [],
                       type: try r.int(tt, 1, size: 1, signed: true, default: 0),
                       buffer: try r.int(tt, 2, size: 4, signed: false, default: 0),
                       name: try r.string(tt, 3, "tensor \(i) name") ?? "",
                       sparsity: try r.subTable(tt, 6, "tensor \(i) sparsity"))
            }
            let ops = try r.tables(t, 3, "subgraph \(s) operators").enumerated().map { (i, ot) in
                Operator(opcodeIndex: try r.int(ot, 0, size: 4, signed: false, default: 0),
                         inputs: try r.int32s(ot, 1, "operator \(i) inputs") ?? [],
                         outputs: try r.int32s(ot, 2, "operator \(i) outputs") ?? [],
                         options: try r.subTable(ot, 4, "operator \(i) builtin_options"),
                         customOptions: try r.byteRange(ot, 5, "operator \(i) custom_options"))
            }
            return SubGraph(tensors: tensors, inputs: try r.int32s(t, 1, "subgraph inputs") ?? [],
                            outputs: try r.int32s(t, 2, "subgraph outputs") ?? [], operators: ops,
                            name: try r.string(t, 4, "subgraph name") ?? "")
        }
        buffers = try r.tables(root, 4, "buffers").enumerated().map { (i, t) in
            if let data = try r.byteRange(t, 0, "buffer \(i) data"), !data.isEmpty { return data }
            // Models over 2 GB keep data after the FlatBuffer: offset (from the file start) and size.
            let offset = try r.int(t, 1, size: 8, signed: false, default: 0)
            let size = try r.int(t, 2, size: 8, signed: false, default: 0)
            guard offset > 1 else { return 0..<0 }
            try r.check(offset, size, "buffer \(i) (offset \(offset), size \(size))")
            return offset..<(offset + size)
        }
    }

    /// Tensor element types (`TensorType`).
    enum TensorType {
        static let float32 = 0, float16 = 1, int32 = 2, uint8 = 3, int64 = 4, int8 = 9
        static func name(_ t: Int) -> String {
            let names = [0: "FLOAT32", 1: "FLOAT16", 2: "INT32", 3: "UINT8", 4: "INT64", 5: "STRING", 6: "BOOL",
                         7: "INT16", 9: "INT8", 10: "FLOAT64", 17: "INT4", 18: "BFLOAT16"]
            return names[t] ?? "type \(t)"
        }
    }

    /// The builtin op name of a code, for messages.
    static func builtinName(_ code: Int) -> String {
        builtinNames.indices.contains(code) ? builtinNames[code] : "builtin operator \(code)"
    }

    static let builtinNames: [String] = [
        "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE",
        "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED", "HASHTABLE_LOOKUP", "L2_NORMALIZATION",
        "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION", "LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D",
        "MUL", "RELU", "RELU_N1_TO_1", "RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX",
        "SPACE_TO_DEPTH", "SVDF", "TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM",
        "EMBEDDING_LOOKUP_SPARSE", "PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
        "SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE", "UNIDIRECTIONAL_SEQUENCE_LSTM",
        "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP", "TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE",
        "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST", "PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG",
        "PADV2", "GREATER", "GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV",
        "SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT", "RSQRT",
        "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK", "LOGICAL_OR", "ONE_HOT",
        "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN", "FLOOR_DIV", "REDUCE_ANY", "SQUARE",
        "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE", "RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU",
        "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS", "SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N",
        "GATHER_ND", "COS", "WHERE", "RANK", "ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE",
        "MATRIX_SET_DIAG", "ROUND", "HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4",
        "NON_MAX_SUPPRESSION_V5", "SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
        "PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D", "CONV_3D",
        "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT", "HASHTABLE_SIZE",
        "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS",
        "RANDOM_STANDARD_NORMAL", "BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU",
        "DYNAMIC_UPDATE_SLICE", "RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX",
        "UNSORTED_SEGMENT_SUM", "ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN", "BITCAST", "BITWISE_XOR",
        "RIGHT_SHIFT", "STABLEHLO_LOGISTIC", "STABLEHLO_ADD", "STABLEHLO_DIVIDE", "STABLEHLO_MULTIPLY",
        "STABLEHLO_MAXIMUM", "STABLEHLO_RESHAPE", "STABLEHLO_CLAMP", "STABLEHLO_CONCATENATE",
        "STABLEHLO_BROADCAST_IN_DIM", "STABLEHLO_CONVOLUTION", "STABLEHLO_SLICE", "STABLEHLO_CUSTOM_CALL",
        "STABLEHLO_REDUCE", "STABLEHLO_ABS", "STABLEHLO_AND", "STABLEHLO_COSINE", "STABLEHLO_EXPONENTIAL",
        "STABLEHLO_FLOOR", "STABLEHLO_LOG", "STABLEHLO_MINIMUM", "STABLEHLO_NEGATE", "STABLEHLO_OR",
        "STABLEHLO_POWER", "STABLEHLO_REMAINDER", "STABLEHLO_RSQRT", "STABLEHLO_SELECT", "STABLEHLO_SUBTRACT",
        "STABLEHLO_TANH", "STABLEHLO_SCATTER", "STABLEHLO_COMPARE", "STABLEHLO_CONVERT",
        "STABLEHLO_DYNAMIC_SLICE", "STABLEHLO_DYNAMIC_UPDATE_SLICE", "STABLEHLO_PAD", "STABLEHLO_IOTA",
        "STABLEHLO_DOT_GENERAL", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SORT", "STABLEHLO_WHILE",
        "STABLEHLO_GATHER", "STABLEHLO_TRANSPOSE", "DILATE", "STABLEHLO_RNG_BIT_GENERATOR", "REDUCE_WINDOW",
        "STABLEHLO_COMPOSITE", "STABLEHLO_SHIFT_LEFT", "STABLEHLO_CBRT",
    ]
}
