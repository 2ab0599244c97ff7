import Foundation
import Testing
@testable import GraftTrain

@Suite struct SHA256Tests {
    /// FIPS 180-4 / NIST CSHA examples.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func fipsVectors(message: String, digest: String) {
        #expect(SHA256.hash(Array(message.utf8)).hexString == digest)
    }

    @Test func oneMillionA() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(hasher.finalize().hexString == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Splitting the input at every position (and across block boundaries) gives the same digest.
    @Test func incrementalEqualsOneShot() {
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
        let expected = SHA256.hash(message)
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 199, 200] {
            var hasher = SHA256()
            hasher.update(Array(message[..<split]))
            hasher.update(Array(message[split...]))
            #expect(hasher.finalize() == expected, "split at \(split)")
        }
        var bytewise = SHA256()
        for b in message { bytewise.update([b]) }
        #expect(bytewise.finalize() == expected)
    }

    /// The digest of a shipped file equals `sha256sum`'s output for it (computed once with
    /// coreutils and pasted here, independently of SHA256SUMS).
    @Test func matchesSha256sumOfADataFile() throws {
        let bytes = try FileBytes.read(bundledDataFolder.appendingPathComponent("fonts-labels-idx1-ubyte"))
        #expect(SHA256.hash(bytes).hexString == "d75a6b10a874adee158a24dbc1ddbe84df268763403fa9a05adb3b4028a56575")
    }
}
