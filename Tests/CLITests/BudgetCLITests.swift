import Foundation
import TestSupport
import Testing

/// Budgets: discovery by name, several budgets per file, infeasible budgets, bad fields.
@Suite struct BudgetCLITests {
    func folder(budget: String?) throws -> URL {
        let dir = Fixtures.temporaryDirectory()
        let watched = Fixtures.packageRoot.appendingPathComponent("watched")
        for f in ["digits_cnn.onnx", "digits_cnn.npz", "digits_cnn.val.npz"] {
            try FileManager.default.copyItem(at: watched.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        if let budget { try Data(budget.utf8).write(to: dir.appendingPathComponent("digits_cnn.budget.json")) }
        return dir
    }

    func json(_ url: URL) throws -> [String: Any] { try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:] }

    @Test func searchedPolicyFitsTheBudgetAndReadsBack() throws {
        let dir = try folder(budget: #"{"flash": "4kB", "ram": 1200, "search": {"method": "exact"}}"#)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try json(out.appendingPathComponent("digits_cnn/report.json"))
        let fp = try #require(report["footprint"] as? [String: Any])
        #expect((fp["flashBytes"] as? Int ?? .max) <= 4000)
        #expect((fp["arenaBytes"] as? Int ?? .max) <= 1200)
        let search = try #require(report["search"] as? [String: Any])
        let rows = try #require(search["comparison"] as? [[String: Any]])
        #expect(Set(rows.compactMap { $0["method"] as? String }) == ["uniform", "rule", "exact"])
        let exact = try #require(rows.first { $0["method"] as? String == "exact" }?["score"] as? Double)
        for row in rows where row["fits"] as? Bool == true { #expect((row["score"] as? Double ?? 0) >= exact - 1e-12) }
        // The written policy.json is a valid --policy input and reproduces the same footprint.
        let out2 = dir.appendingPathComponent("out2")
        let r2 = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", out2.path, "--policy",
                                                      out.appendingPathComponent("digits_cnn/policy.json").path])
        #expect(r2.status == 0, "\(r2.stderr)")
        let q1 = try json(out.appendingPathComponent("digits_cnn/report.json"))["quantize"] as? [String: Any]
        let q2 = try json(out2.appendingPathComponent("digits_cnn/report.json"))["quantize"] as? [String: Any]
        #expect(q1?["parameterBytes"] as? Int == q2?["parameterBytes"] as? Int)
    }

    @Test func infeasibleBudgetExitsThreeWithTheMinimum() throws {
        let dir = try folder(budget: #"{"flash": 500, "ram": "100B"}"#)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", out.path])
        #expect(r.status == 3)
        #expect(r.stderr.contains("infeasible budget") && r.stderr.contains("RAM peak is at op"))
        let md = try String(contentsOf: out.appendingPathComponent("digits_cnn/report.md"), encoding: .utf8)
        #expect(md.contains("infeasible budget"))
    }

    @Test func severalBudgetsGetOneFolderEach() throws {
        let dir = try folder(budget: #"{"budgets": [{"name": "big", "flash": "2MB", "ram": "512kB"}, {"name": "small", "flash": 4000, "ram": "1.2kB"}]}"#)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out")
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", out.path, "--until", "search"])
        #expect(r.status == 0, "\(r.stderr)")
        let big = try json(out.appendingPathComponent("digits_cnn.big/report.json"))["budget"] as? [String: Any]
        let small = try json(out.appendingPathComponent("digits_cnn.small/report.json"))["budget"] as? [String: Any]
        #expect(big?["flashBytes"] as? Int == 2_000_000 && big?["ramBytes"] as? Int == 512_000)
        #expect(small?["ramBytes"] as? Int == 1200)
    }

    @Test(arguments: [
        (#"{"flash": "2MB", "ram": "512kB", "colour": "red"}"#, "field 'colour'"),
        (#"{"flash": "2 parsecs", "ram": "512kB"}"#, "field 'flash'"),
        (#"{"ram": "512kB"}"#, "field 'flash': required"),
        (#"{"flash": "2MB", "ram": "512kB", "weightBits": [3]}"#, "field 'weightBits'"),
        (#"{"flash": "2MB", "ram": "512kB", "search": {"method": "magic"}}"#, "field 'search.method'"),
        (#"{"flash": "2MB", "ram": "512kB", "target": "pdp-11"}"#, "unknown target 'pdp-11'"),
        (#"{"flash": "2MB", "ram": "512kB", "data": "../../etc/passwd"}"#, "field 'data'"),
        (#"{"budgets": [{"flash": 1, "ram": 1}, {"flash": 2, "ram": 2}]}"#, "needs a 'name'"),
        (#"[1, 2]"#, "must be a JSON object"),
    ])
    func badBudgetNamesFileAndField(budget: String, expected: String) throws {
        let dir = try folder(budget: budget)
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try runProcess(try tinympqBinary(), ["run", dir.path, "--out", dir.appendingPathComponent("out").path])
        #expect(r.status == 2, "\(budget): \(r.stderr)")
        #expect(r.stderr.contains("digits_cnn.budget.json") && r.stderr.contains(expected), "\(r.stderr)")
    }
}
