"""--thread-invariant: a training run gives bitwise the same model with one or two torch threads."""

import torch

from facebench.core.io import read_json
from facebench.nn.determinism import set_thread_invariant, thread_invariant
from facebench.run import folder as runfolder
from facebench.run.runner import RunConfig, run


def _train(tiny_prepared, out, threads, invariant, method="adc"):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        run(RunConfig(method=method, res=256, data=tiny_prepared, preset="smoke", out=out, epochs=2,
                      name=f"{method}-t{threads}", progress=False, thread_invariant=invariant))
    finally:
        torch.set_num_threads(before)
        set_thread_invariant(False)
    return torch.load(out / f"{method}-t{threads}" / "model.pt", weights_only=True)["state_dict"]


def test_one_and_two_threads_train_the_same_weights(tiny_prepared, tmp_path):
    one = _train(tiny_prepared, tmp_path, 1, True)
    two = _train(tiny_prepared, tmp_path, 2, True)
    assert one.keys() == two.keys()
    assert all(torch.equal(one[k], two[k]) for k in one)
    assert read_json(tmp_path / "adc-t2" / runfolder.CONFIG)["thread_invariant"] is True
    assert not thread_invariant()                     # switched back after the test


def test_the_gradient_of_a_cpu_preset_adc_does_not_depend_on_the_thread_count():
    from adc_model.method import ADC
    from adc_model.model import ADCNet
    from facebench.core.presets import get_preset

    cfg = ADC.config_for(get_preset("cpu"), 256, "studio89")
    images = (torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(1)) * 255).to(torch.uint8)

    def grads(threads):
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            torch.manual_seed(0)
            net = ADCNet(cfg.model)
            proxy = torch.nn.functional.interpolate(images.float(), size=cfg.model.proxy, mode="area")
            out = net(proxy / 255, images)
            (out.refined.pow(2).mean() + out.coarse.pow(2).mean()).backward()
            return torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None])
        finally:
            torch.set_num_threads(before)

    set_thread_invariant(True)
    try:
        assert torch.equal(grads(1), grads(2))
    finally:
        set_thread_invariant(False)
