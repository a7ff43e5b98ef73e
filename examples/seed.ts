// The seed's PyTorch program (section 5.2) line for line: a 2→10→1 ReLU network, BCEWithLogitsLoss, Adam,
// DataLoader(batch 16, shuffle) for 10 epochs, on a deterministic two-class problem z-scored as in 4.3.
import { Generator, manualSeed, noGrad, randn, tensor, cat, ones, zeros, nn, optim, data, type Tensor } from "kiln";

manualSeed(0);

// 数据准备: two classes of two raw features on different scales (think income in k€ and age in years)
function makeSamples(n: number, g: Generator): [Tensor, Tensor] {
  const half = n / 2;
  const scale = [8, 5];
  const blob = (cx: number, cy: number) => randn([half, 2], { generator: g }).mul(tensor([scale])).add(tensor([[cx, cy]]));
  const x = cat([blob(50, 30), blob(70, 45)], 0); // (n, 2)
  const y = cat([zeros(half, 1), ones(half, 1)], 0); // (n, 1)
  return [x, y];
}
const dataGen = new Generator(2024);
const [xTrain, yTrain] = makeSamples(10000, dataGen);
const [xTest, yTest] = makeSamples(2000, dataGen);

// 数据归一化: z-score with the statistics of the training set only
const scaler = new data.StandardScaler().fit(xTrain);
const trainDataset = new data.TensorDataset(scaler.transform(xTrain), yTrain);

// 定义网络结构
class NeuralNetwork extends nn.Module {
  layer1 = new nn.Linear(2, 10);
  relu = new nn.ReLU();
  layer2 = new nn.Linear(10, 1);

  forward(x: Tensor): Tensor {
    x = this.layer1.forward(x);
    x = this.relu.forward(x);
    x = this.layer2.forward(x);
    return x;
  }
}

// 实例化网络和优化器
const model = new NeuralNetwork();
const optimizer = new optim.Adam(model.parameters(), { lr: 0.001 });

// 训练模型
function trainModel(model: nn.Module, trainLoader: data.DataLoader<[Tensor, Tensor]>, criterion: nn.BCEWithLogitsLoss, optimizer: optim.Optimizer, numEpochs = 10) {
  for (let epoch = 0; epoch < numEpochs; epoch++) {
    let runningLoss = 0.0;
    for (const [inputs, labels] of trainLoader) {
      optimizer.zeroGrad();
      const outputs = model.forward(inputs);
      const loss = criterion.forward(outputs, labels);
      loss.backward();
      optimizer.step();
      runningLoss += loss.item();
    }
    console.log(`Epoch ${epoch + 1}, Loss: ${runningLoss / trainLoader.length}`);
  }
}

// 加载数据
const trainLoader = new data.DataLoader(trainDataset, { batchSize: 16, shuffle: true });

// 训练
const t0 = performance.now();
trainModel(model, trainLoader, new nn.BCEWithLogitsLoss(), optimizer, 10);
const seconds = (performance.now() - t0) / 1000;

// held-out accuracy, normalised with the training statistics
const accuracy = noGrad(() => {
  const logits = model.forward(scaler.transform(xTest));
  return logits.gt(0).float().eq(yTest).float().mean().item();
});
console.log(`Held-out accuracy: ${(accuracy * 100).toFixed(2)}% (${xTest.shape[0]} samples)`);
console.error(`(10 epochs in ${seconds.toFixed(3)} s)`);
