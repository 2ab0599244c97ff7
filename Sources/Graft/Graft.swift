/// Graft: composable gradient transforms for robust fine-tuning.
///
/// `import Graft` brings in every module: tensors (`GraftTensor`) and the layer DSL (`GraftNN`).
@_exported import GraftTensor
@_exported import GraftNN
