"""PyTorch peer of the Transplant benchmark: builds the same network from the case JSON
(read on stdin) and prints one JSON line of timings. Run by tools/bench; tests run it only
against stand-in modules (to check its messages), never to time anything."""
import json
import sys
import time


def build_sequential(torch, net, case):
    nn = torch.nn
    layers, (n, h, w, ch) = [], case["input"]
    for layer in net["layers"]:
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


def build_mobilenetv2(torchvision, net, case):
    # torchvision fixes the stem at 32 and the last conv at 1280 channels (both scaled by width).
    if net["stem"] != 32 or net["last"] != 1280 or case["input"][3] != 3:
        raise ValueError("torchvision's mobilenet_v2 has a 32-channel stem, a 1280-channel last conv and RGB input")
    return torchvision.models.mobilenet_v2(
        weights=None,
        num_classes=net["classes"],
        width_mult=net["width"],
        inverted_residual_setting=[list(row) for row in net["setting"]],
        dropout=net["dropout"],
    )


def build(torch, torchvision, case):
    net = case["network"]
    if net["kind"] == "sequential":
        return build_sequential(torch, net, case)
    if net["kind"] == "mobilenetv2":
        return build_mobilenetv2(torchvision, net, case)
    raise ValueError(f"unknown network kind {net['kind']}")


def classes_of(net):
    return net["classes"] if net["kind"] == "mobilenetv2" else net["layers"][-1]["units"]


def time_case(torch, torchvision, case, memory_format, warmup, steps):
    torch.manual_seed(0)
    n, h, w, c = case["input"]
    model = build(torch, torchvision, case).to(memory_format=memory_format)
    x = torch.rand(n, c, h, w).contiguous(memory_format=memory_format)
    if case["mode"] == "train":
        # Training mode: batch norm on batch statistics (and running averages), dropout on.
        model.train()
        y = torch.randint(0, classes_of(case["network"]), (n,))
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


def build_info(torch):
    """What this PyTorch build runs on: its CPU capability, BLAS and oneDNN (a distribution's build
    is not the pip wheel; the report must say which was measured)."""
    config = torch.__config__.show()
    settings = {}
    for line in config.splitlines():
        line = line.strip()
        if line.startswith("- CPU capability usage:"):
            settings["cpuCapability"] = line.split(":", 1)[1].strip()
        if line.startswith("- Build settings:"):
            for item in line.split(":", 1)[1].split(", "):
                key, _, value = item.partition("=")
                if key.strip() in ("BLAS_INFO", "USE_MKLDNN", "USE_OPENMP"):
                    settings[key.strip()] = value.strip()
    onednn = [l.strip() for l in torch.__config__.parallel_info().splitlines() if "MKL-DNN" in l or "oneDNN" in l]
    settings["mkldnnAvailable"] = bool(torch.backends.mkldnn.is_available())
    if onednn:
        settings["onednn"] = onednn[0]
    return settings


def main():
    request = json.load(sys.stdin)
    try:
        import torch
    except ModuleNotFoundError as e:
        if e.name == "torch":
            sys.exit("PyTorch is not installed: apt-get install python3-torch")
        raise
    torchvision = None
    if request["case"]["network"]["kind"] == "mobilenetv2":
        try:
            import torchvision
        except ModuleNotFoundError as e:
            if e.name == "torchvision":
                sys.exit("torchvision is not installed: apt-get install python3-torchvision")
            raise

    torch.set_num_threads(request["threads"])
    formats = {"nchw": torch.contiguous_format, "channels-last": torch.channels_last}
    results = {
        name: time_case(torch, torchvision, request["case"], fmt, request["warmup"], request["steps"])
        for name, fmt in formats.items()
    }
    best = min(results, key=lambda k: results[k]["medianMs"])
    print(
        json.dumps(
            {
                "torch": torch.__version__,
                "torchvision": getattr(torchvision, "__version__", None),
                "threads": torch.get_num_threads(),
                "build": build_info(torch),
                "best": best,
                "formats": results,
            }
        )
    )


if __name__ == "__main__":
    main()
