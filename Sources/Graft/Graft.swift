/// Graft: composable gradient transforms for robust fine-tuning.
///
/// `import Graft` brings in every module: tensors (`GraftTensor`), the layer DSL
/// (`GraftNN`), the optimizers (`GraftOptim`) and training utilities (`GraftTrain`).
@_exported import GraftTensor
@_exported import GraftNN
@_exported import GraftOptim
@_exported import GraftSafetensors
@_exported import GraftTrain
