// The data toolkit (torch.utils.data and scikit-learn-style preprocessing): datasets, loaders, samplers, scalers, CSV.
export { Dataset, TensorDataset, Subset, randomSplit } from "./dataset.js";
export { DataLoader, type DataLoaderOptions } from "./dataloader.js";
export { defaultCollate, type Collated } from "./collate.js";
export { IndexSampler, SequentialSampler, RandomSampler, BatchSampler, type Sampler } from "./sampler.js";
export { StandardScaler, MinMaxScaler } from "./scalers.js";
export { parseCsv, type CsvOptions, type CsvData } from "./csv.js";
