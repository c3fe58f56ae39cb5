"""The README's picture of `unmask serve`'s page: a server with the default models on a free port, a validation
photo with the project's eye bar given to the page in headless Chromium (Debian's chromium + chromium-driver),
restored, the before | after slider half-way, saved as a PNG. Run: python scripts/serve_screenshot.py [OUT]
(default docs/img/serve.png; ../shared/data/celeba/val beside the repository, or $UNMASK_VAL)."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[1]
VAL = Path(os.environ.get("UNMASK_VAL", REPO / ".." / "shared" / "data" / "celeba" / "val"))


def main(out: Path) -> int:
    import uvicorn

    from unmask.infer.censors import draw_censor
    from unmask.infer.face.detect import FaceFinder
    from unmask.serve.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="serve-shot-"))
    with FaceFinder() as finder:
        for path in sorted(VAL.glob("*.jpg"))[5:]:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            faces = finder.search(rgb).faces
            if len(faces) == 1:
                censored, _ = draw_censor(rgb, faces[0].landmarks, "bar", np.random.default_rng(3))
                photo = tmp / f"{path.stem}.png"
                Image.fromarray(censored).save(photo)
                break
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--window-size=1100,1300", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path="/usr/bin/chromedriver"))
    try:
        wait = WebDriverWait(driver, 120)
        driver.get(f"http://127.0.0.1:{port}/")
        wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
        driver.find_element(By.ID, "files").send_keys(str(photo))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".card .faces li"))
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".card canvas.hole").get_attribute("data-ready") == "1")
        driver.find_element(By.CSS_SELECTOR, ".card button.restore").click()
        wait.until(lambda d: not d.find_element(By.CSS_SELECTOR, ".card .result").get_attribute("hidden"))
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1100, min(height + 40, 2400))
        time.sleep(0.5)
        out.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
        server.should_exit = True
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "img" / "serve.png"))
