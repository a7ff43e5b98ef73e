// The nn namespace: Module and Parameter, layers, losses, and the functional, init and utils namespaces.
export { Module, Parameter } from "./module.js";
export type { ParameterConstructor, LoadStateDictResult } from "./module.js";
export { Linear, Identity } from "./layers/linear.js";
export type { LinearOptions } from "./layers/linear.js";
export { Sequential } from "./layers/container.js";
export { ReLU, LeakyReLU, Sigmoid, Tanh, GELU, SiLU, Softmax, LogSoftmax } from "./layers/activation.js";
export { Dropout } from "./layers/dropout.js";
export { Flatten } from "./layers/flatten.js";
export {
  BCEWithLogitsLoss, BCELoss, CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss, HuberLoss,
} from "./losses.js";
export type { LossOptions } from "./losses.js";
export type { Reduction, GeluApproximate, BCEWithLogitsOptions, CrossEntropyOptions } from "./functional.js";
export * as functional from "./functional.js";
export * as F from "./functional.js";
export * as init from "./init.js";
export * as utils from "./utils.js";
export { Conv1d, Conv2d, ConvTranspose2d } from "./layers/conv.js";
export type { ConvOptions, ConvTransposeOptions } from "./layers/conv.js";
export { MaxPool1d, MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool2d } from "./layers/pooling.js";
export type { MaxPoolOptions, AvgPoolOptions } from "./layers/pooling.js";
export { Upsample } from "./layers/upsample.js";
export type { UpsampleOptions } from "./layers/upsample.js";
export { BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm, RMSNorm } from "./layers/normalization.js";
export type { BatchNormOptions, LayerNormOptions, GroupNormOptions, RMSNormOptions } from "./layers/normalization.js";
export { Embedding } from "./layers/embedding.js";
export type { EmbeddingOptions } from "./layers/embedding.js";
export { Dropout2d } from "./layers/dropout2d.js";
export { ModuleList, ModuleDict } from "./layers/containers.js";
export type { ModuleDictInput } from "./layers/containers.js";
export { MultiheadAttention, NonDynamicallyQuantizableLinear } from "./layers/attention.js";
export type { MultiheadAttentionOptions, MultiheadAttentionForwardOptions } from "./layers/attention.js";
export { TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer, TransformerDecoder, Transformer } from "./layers/transformer.js";
export type {
  TransformerActivation, TransformerLayerOptions, TransformerEncoderLayerForwardOptions, TransformerDecoderLayerForwardOptions,
  TransformerEncoderForwardOptions, TransformerOptions, TransformerForwardOptions,
} from "./layers/transformer.js";
export { SinusoidalPositionalEncoding } from "./layers/positional.js";
export type { SinusoidalPositionalEncodingOptions } from "./layers/positional.js";
export { RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell } from "./layers/recurrent.js";
export type { RNNOptions, RNNBaseOptions, RNNCellOptions, RNNOutput, LSTMOutput } from "./layers/recurrent.js";
