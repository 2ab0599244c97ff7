/// Graft: composable gradient transforms for robust fine-tuning.
///
/// `import Graft` brings in every module: tensors (`GraftTensor`).
@_exported import GraftTensor
@_exported import GraftOptim
