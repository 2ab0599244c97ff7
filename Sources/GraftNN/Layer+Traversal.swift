import GraftTensor

/// Tree-wide operations built from `forEachParameter` and `forEachSublayer`.
///
/// Paths join segments with `"."`: a layer's own parameters first, in its order, then each
/// sublayer's parameters depth first, prefixed by the sublayer's segment (the order
/// PyTorch's `named_parameters` uses). The layer you call these on contributes no segment
/// of its own.
extension Layer {
    /// Every parameter in this layer's tree (trainable or frozen) with its dotted path, in
    /// traversal order. The `Parameter` objects are shared with the layers: an optimizer
    /// holding this list updates the model in place.
    public func namedParameters() -> [NamedParameter] {
        var result: [NamedParameter] = []
        visitParameters(prefix: "") { path, parameter in
            result.append(NamedParameter(path: path, parameter: parameter))
        }
        return result
    }

    /// The number of scalars in every parameter of the tree (`trainableOnly`: only those
    /// with `isTrainable`).
    public func parameterCount(trainableOnly: Bool = false) -> Int {
        var total = 0
        visitParameters(prefix: "") { _, p in
            if !trainableOnly || p.isTrainable { total += p.value.count }
        }
        return total
    }

    /// Sets every parameter gradient in the tree to zero, in place (no allocation); every
    /// parameter then has a gradient (of zero), as after PyTorch's `zero_grad(set_to_none=False)`.
    public func zeroGradients() {
        visitLayers { layer in layer.forEachParameter { _, p in p.zeroGradient() } }
    }

    /// Sets every parameter gradient in the tree to zero and marks it absent until a backward
    /// pass writes it (PyTorch's default `zero_grad()`, `set_to_none=True`): parameters the
    /// next backward pass does not reach have `hasGradient == false`, which an optimizer with
    /// the `.skip` missing-gradient policy leaves untouched.
    public func clearGradients() {
        visitLayers { layer in layer.forEachParameter { _, p in p.clearGradient() } }
    }

    /// Puts every layer of the tree in `mode` (dropout is active only in `.training`).
    public func setMode(_ mode: LayerMode) {
        visitLayers { $0.modeDidChange(to: mode) }
    }

    /// Freezes every parameter of the tree (`isTrainable = false`): backward passes stop
    /// accumulating their gradients and optimizers skip them (a linear probe freezes the body).
    public func freeze() { setTrainable(false) }

    /// Makes every parameter of the tree trainable again.
    public func unfreeze() { setTrainable(true) }

    /// Sets the anchor kind of every parameter of the tree (for example `.none` for a newly
    /// initialised head that anchor-based regularisers should not pull anywhere).
    public func setAnchor(_ anchor: AnchorKind) {
        visitLayers { layer in layer.forEachParameter { _, p in p.anchor = anchor } }
    }

    private func setTrainable(_ trainable: Bool) {
        visitLayers { layer in layer.forEachParameter { _, p in p.isTrainable = trainable } }
    }

    /// Calls `body` on this layer and then on every sublayer, depth first.
    func visitLayers(_ body: (any Layer) -> Void) {
        body(self)
        forEachSublayer { _, child in child.visitLayers(body) }
    }

    /// Calls `body` with each parameter of the tree and its path, `prefix` prepended.
    func visitParameters(prefix: String, _ body: (String, Parameter) -> Void) {
        forEachParameter { name, parameter in body(prefix + name, parameter) }
        forEachSublayer { name, child in child.visitParameters(prefix: prefix + name + ".", body) }
    }
}
