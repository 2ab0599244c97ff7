import GraftNN
import GraftTensor
import Testing

/// The README's "Transformers and CNNs" snippet, verbatim in the test body: it must compile
/// and produce the shapes and paths the README states.
@Suite("README transformer snippet")
struct ReadmeTransformerExampleTests {
    @Test func snippetRuns() throws {
        // A ViT for 16×16 grey digits: 4×4 patches → 16 tokens + a class token, width 64.
        let vit = try Sequential {
            try PatchEmbedding(channels: 1, imageHeight: 16, imageWidth: 16, patchSize: 4, width: 64, seed: 1).named("patches")
            try ClassToken(width: 64, seed: 2).named("cls")
            try PositionalEmbedding(tokens: 17, width: 64, seed: 3).named("position")
            try Sequential("blocks") {
                for i in 0..<2 { try TransformerBlock(width: 64, heads: 4, mlpRatio: 2, seed: 10 + UInt64(i)) }
            }
            try LayerNorm(64).named("norm")
            try TokenPooling(.classToken, width: 64).named("pool")
            try Dense(64, 10, seed: 4).named("head")
        }
        let logits = try vit(Tensor(zeros: [32, 256]))            // [32, 10]
        // PEFT-style LoRA on the attention projections; everything else frozen.
        vit.freeze()
        vit["head"]!.unfreeze()
        let adapted = try vit.addLoRA(to: ["blocks.*.attention.query", "blocks.*.attention.value"],
                                      rank: 8, alpha: 16, seed: 5)
        // adapted == ["blocks.0.attention.query", "blocks.0.attention.value", "blocks.1.…", …]

        #expect(logits.shape == [32, 10])
        #expect(adapted.count == 4 && adapted[0] == "blocks.0.attention.query")
        let paths = vit.namedParameters().filter(\.parameter.isTrainable).map(\.path)
        #expect(paths.contains("blocks.1.attention.value.lora_b") && paths.contains("head.weight") && paths.count == 10)
    }
}
