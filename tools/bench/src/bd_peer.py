"""PyTorch peer of the back-distillation step benchmark: the same adapter (1 or 3 conv+ReLU,
64 channels, 8x8 maps) before the zoo's classification head, one BD step with double
back-propagation (create_graph=True) and Adam. Reads the request on stdin, prints one JSON line."""
import json
import sys
import time


def main():
    request = json.load(sys.stdin)
    import torch

    nn = torch.nn
    torch.set_num_threads(request["threads"])
    torch.manual_seed(0)
    n, layers = request["batch"], request["layers"]
    adapter = nn.Sequential(*[m for _ in range(layers) for m in (nn.Conv2d(64, 64, 3, padding=1), nn.ReLU())])
    head = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 64, 64), nn.ReLU(), nn.Linear(64, 1))
    teacher = nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 64, 64), nn.ReLU(), nn.Linear(64, 1))
    for p in list(head.parameters()) + list(teacher.parameters()):
        p.requires_grad_(False)
    x = torch.rand(n, 64, 8, 8)
    xt = x.clone().requires_grad_(True)
    yt = teacher(xt)
    (gt,) = torch.autograd.grad(yt.sum(), xt)
    yt, gt = yt.detach(), gt.detach()
    opt = torch.optim.Adam(adapter.parameters(), lr=1e-3)

    def bd_step():
        opt.zero_grad(set_to_none=True)
        xs = x.clone().requires_grad_(True)
        ys = head(adapter(xs))
        (gs,) = torch.autograd.grad(ys.sum(), xs, create_graph=True)
        loss = ((gs - gt) ** 2).mean() / (gt ** 2).mean() + 0.1 * ((ys - yt) ** 2).mean() / (yt.var() + 1e-6)
        loss.backward()
        opt.step()
        loss.item()

    for _ in range(request["warmup"]):
        bd_step()
    times = []
    for _ in range(request["steps"]):
        t0 = time.perf_counter()
        bd_step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "medianMs": times[len(times) // 2], "minMs": times[0], "samples": len(times)}))


if __name__ == "__main__":
    main()
