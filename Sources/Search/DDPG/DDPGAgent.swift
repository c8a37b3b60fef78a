/// HAQ's DDPG agent: actor S→300→300→1 (ReLU, sigmoid), critic (S→300)+(1→300) → ReLU → 300 →
/// ReLU → 1; Adam (actor 1e-4, critic 1e-3); soft target updates τ = 0.01; γ = 1; a moving-
/// average reward baseline (α = 0.5).
struct DDPGAgent {
    struct Hyper {
        var hidden = 300
        var actorLR: Float = 1e-4
        var criticLR: Float = 1e-3
        var tau: Float = 0.01
        var gamma: Float = 1
        var batch = 64
    }

    let h: Hyper
    var a1, a2, a3: Dense
    var c1s, c1a, c2, c3: Dense
    var ta1, ta2, ta3: Dense
    var tc1s, tc1a, tc2, tc3: Dense
    var baseline: Float? = nil

    init(stateSize s: Int, hyper: Hyper = Hyper(), rng: inout SplitMix) {
        h = hyper
        a1 = Dense(s, h.hidden, rng: &rng)
        a2 = Dense(h.hidden, h.hidden, rng: &rng)
        a3 = Dense(h.hidden, 1, rng: &rng)
        c1s = Dense(s, h.hidden, rng: &rng)
        c1a = Dense(1, h.hidden, rng: &rng)
        c2 = Dense(h.hidden, h.hidden, rng: &rng)
        c3 = Dense(h.hidden, 1, rng: &rng)
        (ta1, ta2, ta3, tc1s, tc1a, tc2, tc3) = (a1, a2, a3, c1s, c1a, c2, c3)
    }

    static func sigmoid(_ m: Matrix) -> Matrix { var r = m; for i in 0..<r.data.count { r.data[i] = 1 / (1 + exp(-r.data[i])) }; return r }

    /// μ(s) for a batch of states.
    func act(_ s: Matrix, target: Bool = false) -> Matrix {
        let (l1, l2, l3) = target ? (ta1, ta2, ta3) : (a1, a2, a3)
        return Self.sigmoid(l3.forward(relu(l2.forward(relu(l1.forward(s))))))
    }

    func q(_ s: Matrix, _ a: Matrix, target: Bool = false) -> Matrix {
        let (l1s, l1a, l2, l3) = target ? (tc1s, tc1a, tc2, tc3) : (c1s, c1a, c2, c3)
        var z = l1s.forward(s)
        let za = l1a.forward(a)
        for i in 0..<z.data.count { z.data[i] += za.data[i] }
        return l3.forward(relu(l2.forward(relu(z))))
    }

    /// One gradient step on a batch of (s, a, r, s', done).
    mutating func update(s: Matrix, a: Matrix, r: [Float], s2: Matrix, done: [Bool]) {
        let n = s.rows
        // Moving-average baseline on the sampled rewards.
        let mean = r.reduce(0, +) / Float(n)
        baseline = baseline.map { $0 + 0.5 * (mean - $0) } ?? mean
        let q2 = q(s2, act(s2, target: true), target: true)
        var y = [Float](repeating: 0, count: n)
        for i in 0..<n { y[i] = (r[i] - baseline!) + h.gamma * (done[i] ? 0 : q2.data[i]) }

        // Critic: MSE(Q(s, a), y).
        let z1s = c1s.forward(s), z1a = c1a.forward(a)
        var z1 = z1s
        for i in 0..<z1.data.count { z1.data[i] += z1a.data[i] }
        let h1 = relu(z1)
        let h2 = relu(c2.forward(h1))
        let qv = c3.forward(h2)
        var dq = Matrix(rows: n, cols: 1)
        for i in 0..<n { dq.data[i] = 2 * (qv.data[i] - y[i]) / Float(n) }
        let (dw3, db3, dh2) = c3.backward(h2, dq)
        let dz2 = reluBackward(h2, dh2)
        let (dw2, db2, dh1) = c2.backward(h1, dz2)
        let dz1 = reluBackward(h1, dh1)
        let (dw1s, db1s) = c1s.weightGradient(s, dz1)
        let (dw1a, db1a) = c1a.weightGradient(a, dz1)
        c3.adam(dw3, db3, lr: h.criticLR)
        c2.adam(dw2, db2, lr: h.criticLR)
        c1s.adam(dw1s, db1s, lr: h.criticLR)
        c1a.adam(dw1a, db1a, lr: h.criticLR)

        // Actor: maximise Q(s, μ(s)), i.e. minimise −mean Q.
        let ah1 = relu(a1.forward(s)), ah2 = relu(a2.forward(ah1))
        let mu = Self.sigmoid(a3.forward(ah2))
        let cz1s = c1s.forward(s), cz1a = c1a.forward(mu)
        var cz1 = cz1s
        for i in 0..<cz1.data.count { cz1.data[i] += cz1a.data[i] }
        let ch1 = relu(cz1), ch2 = relu(c2.forward(ch1))
        var dqa = Matrix(rows: n, cols: 1)
        for i in 0..<n { dqa.data[i] = -1 / Float(n) }
        // Through the critic to the action: input gradients only (the critic is not trained here).
        let dch2 = c3.inputGradient(dqa)
        let dch1 = c2.inputGradient(reluBackward(ch2, dch2))
        let dmu = c1a.inputGradient(reluBackward(ch1, dch1))
        var dlogit = dmu
        for i in 0..<n { dlogit.data[i] *= mu.data[i] * (1 - mu.data[i]) }
        let (daw3, dab3, dah2) = a3.backward(ah2, dlogit)
        let (daw2, dab2, dah1) = a2.backward(ah1, reluBackward(ah2, dah2))
        let (daw1, dab1) = a1.weightGradient(s, reluBackward(ah1, dah1))
        a3.adam(daw3, dab3, lr: h.actorLR)
        a2.adam(daw2, dab2, lr: h.actorLR)
        a1.adam(daw1, dab1, lr: h.actorLR)

        for (src, dst) in [(\DDPGAgent.a1, \DDPGAgent.ta1), (\.a2, \.ta2), (\.a3, \.ta3), (\.c1s, \.tc1s), (\.c1a, \.tc1a), (\.c2, \.tc2), (\.c3, \.tc3)] {
            self[keyPath: src].softUpdate(&self[keyPath: dst], tau: h.tau)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
