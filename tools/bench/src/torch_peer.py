"""PyTorch peer of the Transplant benchmark: builds the same network from the case JSON
(read on stdin) and prints one JSON line of timings. Run by tools/bench, never by tests."""
import json
import sys
import time


def build(torch, case):
    nn = torch.nn
    layers, (n, h, w, ch) = [], case["input"]
    for layer in case["layers"]:
        if layer["type"] == "conv":
            k = layer["kernel"]
            layers += [nn.Conv2d(ch, layer["filters"], k, padding=k // 2), nn.ReLU()]
            ch = layer["filters"]
        elif layer["type"] == "maxpool":
            layers.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
        elif layer["type"] == "dense":
            layers += [nn.Flatten(), nn.Linear(h * w * ch, layer["units"])]
            h, w, ch = 1, 1, layer["units"]
    return nn.Sequential(*layers)


def time_case(torch, case, memory_format, warmup, steps):
    torch.manual_seed(0)
    n, h, w, c = case["input"]
    model = build(torch, case).to(memory_format=memory_format)
    x = torch.rand(n, c, h, w).contiguous(memory_format=memory_format)
    if case["mode"] == "train":
        classes = case["layers"][-1]["units"]
        y = torch.randint(0, classes, (n,))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            loss.item()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(x).sum().item()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"medianMs": times[len(times) // 2], "minMs": times[0], "samples": len(times)}


def main():
    request = json.load(sys.stdin)
    import torch

    torch.set_num_threads(request["threads"])
    formats = {"nchw": torch.contiguous_format, "channels-last": torch.channels_last}
    results = {
        name: time_case(torch, request["case"], fmt, request["warmup"], request["steps"])
        for name, fmt in formats.items()
    }
    best = min(results, key=lambda k: results[k]["medianMs"])
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "best": best, "formats": results}))


if __name__ == "__main__":
    main()
