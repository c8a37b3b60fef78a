import Foundation
import Graph
import Kernels
import Quantize
import TestSupport
import Testing

/// The trailing Softmax left to the host applies to the output it produced, not to the others.
@Suite struct HostSoftmaxTests {
    @Test func onlyTheSoftmaxOutputIsNormalised() throws {
        let q = ActivationQuant(bits: 8, signed: true, scale: 0.05)
        let identity = (q.qmin...q.qmax).map { Int32($0) }
        var tensors: [String: QTensor] = [:]
        for n in ["x", "logits", "boxes"] { tensors[n] = QTensor(name: n, shape: [1, 4], quant: q) }
        let layers = [QLayer(name: "a", op: .lookup(QLookup(table: identity, inputMin: Int32(q.qmin))), inputs: ["x"], output: "boxes"),
                      QLayer(name: "b", op: .lookup(QLookup(table: identity, inputMin: Int32(q.qmin))), inputs: ["x"], output: "logits")]
        var model = QuantizedModel(name: "two", input: "x", outputs: ["boxes", "logits"], tensors: tensors, layers: layers, outputSoftmaxAxis: 1)
        model.outputSoftmaxTensor = "logits"
        #expect(model.outputSoftmaxIndex == 1)
        let x = Tensor(shape: [1, 4], data: [0.5, -1, 2, 0.25])
        let y = try IntegerEngine(model: model).run(x)
        #expect(y[0].data == x.data)
        #expect(abs(y[1].data.reduce(0, +) - 1) < 1e-5)
        #expect(y[1].data == x.softmax(axis: 1).data)
    }
}
