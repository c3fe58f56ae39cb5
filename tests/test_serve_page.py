"""The page of ``unmask serve`` in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium), against a real server on this machine with the tiny test generators: load the page, give it a
validation photo with an eye bar, see the face box and the decision, paint a brush stroke, restore, check that
the result differs from the input only inside the hole, download it."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("selenium", reason="selenium is not installed")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):
    pytest.skip("Debian's chromium and chromium-driver are not installed", allow_module_level=True)

from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

WAIT_S = 60


@pytest.fixture(scope="module")
def server(models_dir: Path):
    """``unmask serve``'s app on uvicorn in a thread, on a free port, with the tiny generators."""
    import uvicorn

    from unmask.serve.app import create_app
    from unmask.serve.settings import ServeSettings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UNMASK_MODELS", str(models_dir))
        srv = uvicorn.Server(uvicorn.Config(create_app(ServeSettings(workers=1, threads=1)), host="127.0.0.1",
                                            port=port, log_level="warning"))  # fmt: skip
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        for _ in range(200):
            if srv.started:
                break
            time.sleep(0.05)
        assert srv.started, "the server did not start"
        yield f"http://127.0.0.1:{port}/"
        srv.should_exit = True
        thread.join(20)


@pytest.fixture(scope="module")
def barred_val(val_faces: list[Path], finder, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """(a validation photo with the project's eye bar drawn on, saved as PNG; the bar, HxW bool)."""
    from unmask.infer.censors import draw_censor

    for path in val_faces[:20]:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        faces = finder.search(rgb).faces
        if len(faces) == 1:
            censored, bar = draw_censor(rgb, faces[0].landmarks, "bar")
            out = tmp_path_factory.mktemp("page") / f"{path.stem}.png"
            Image.fromarray(censored).save(out)
            return out, bar > 127
    pytest.skip("no validation photo with one face among the first 20")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    downloads = tmp_path_factory.mktemp("downloads")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1400",
                "--force-device-scale-factor=1"):  # fmt: skip
        opts.add_argument(arg)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})  # fmt: skip
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    yield driver, downloads
    driver.quit()


def _downloaded(folder: Path, name: str) -> Path:
    path = folder / name
    for _ in range(WAIT_S * 10):
        if path.exists() and not any(folder.glob("*.crdownload")):
            return path
        time.sleep(0.1)
    raise AssertionError(f"{name} was not downloaded (the folder holds {[p.name for p in folder.iterdir()]})")


def test_the_page_restores_a_barred_photo(server: str, barred_val, browser) -> None:
    photo, bar = barred_val
    driver, downloads = browser
    wait = WebDriverWait(driver, WAIT_S)
    # 1. the page loads, its choices filled from the API
    driver.get(server)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    assert "synthetic" in driver.find_element(By.CSS_SELECTOR, ".synthetic-note").text
    assert "auto" in [o.text for o in driver.find_elements(By.CSS_SELECTOR, "#region option")]
    # 2. a validation photo with an eye bar
    driver.find_element(By.ID, "files").send_keys(str(photo))
    # 3. its face box and the decision
    item = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".card .faces li"))[0]
    assert item.find_element(By.CSS_SELECTOR, ".label").text == "to restore: eyes"
    assert "bar censor" in item.find_element(By.CSS_SELECTOR, ".decision").text
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".card canvas.hole").get_attribute("data-ready") == "1")
    drawn = driver.execute_script(
        "const c = document.querySelector('.card canvas.boxes'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n;"
    )
    assert drawn > 100  # the numbered box is drawn
    # 4. a brush stroke under the bar, on the cheeks, from one side of the face to the other
    driver.find_element(By.CSS_SELECTOR, 'input[name="tool"][value="brush"]').click()
    canvas = driver.find_element(By.CSS_SELECTOR, ".card canvas.boxes")
    h, w = bar.shape
    scale = canvas.size["width"] / w
    ys, xs = np.nonzero(bar)
    y = ys.max() + 8
    x0, x1 = np.percentile(xs, 30), np.percentile(xs, 70)

    def at(x: float) -> tuple[int, int]:
        return int(round((x - w / 2) * scale)), int(round((y - h / 2) * scale))

    ActionChains(driver).move_to_element_with_offset(canvas, *at(x0)).click_and_hold() \
        .move_to_element_with_offset(canvas, *at((x0 + x1) / 2)).move_to_element_with_offset(canvas, *at(x1)) \
        .release().perform()  # fmt: skip
    # 5. restore
    driver.find_element(By.CSS_SELECTOR, ".card button.restore").click()
    wait.until(lambda d: not d.find_element(By.CSS_SELECTOR, ".card .result").get_attribute("hidden")
               or d.find_element(By.CSS_SELECTOR, ".card .error").text)  # fmt: skip
    assert driver.find_element(By.CSS_SELECTOR, ".card .error").text == ""
    assert "Synthetic" in driver.find_element(By.CSS_SELECTOR, ".card .synthetic-label").text
    assert driver.find_element(By.CSS_SELECTOR, ".card .faces li .label").text == "restored eyes"
    # compare: the slider moves the line between before and after; zoom 4:1 shows 4 screen pixels per photo pixel
    driver.execute_script(
        "const s = document.querySelector('.card .slider'); s.value = 20; s.dispatchEvent(new Event('input'));"
    )
    assert driver.find_element(By.CSS_SELECTOR, ".card .before-clip").get_attribute("style") == "width: 20%;"
    Select(driver.find_element(By.CSS_SELECTOR, ".card .zoom")).select_by_value("4")
    assert driver.find_element(By.CSS_SELECTOR, ".card .compare").size["width"] == 4 * bar.shape[1]
    # 7. download the result and the mask
    driver.find_element(By.CSS_SELECTOR, ".card a.dl-result").click()
    result = _downloaded(downloads, f"{photo.stem}.unmasked.png")
    driver.find_element(By.CSS_SELECTOR, ".card a.dl-mask").click()
    hole = np.asarray(Image.open(_downloaded(downloads, f"{photo.stem}.mask.png")).convert("L")) > 127
    # 6. the result differs from the input only inside the hole, and the hole holds the brush stroke
    before = np.asarray(Image.open(photo).convert("RGB"))
    after = np.asarray(Image.open(result).convert("RGB"))
    changed = np.any(before != after, axis=2)
    assert changed.any() and not (changed & ~hole).any()
    assert hole[y, int(x0) : int(x1)].mean() > 0.9 and not bar[y, int(x0) : int(x1)].any()
    assert (hole & bar).sum() / bar.sum() > 0.9


def test_several_photos_in_order_errors_in_words_and_faces_left_out(
    server: str, barred_val, browser, tmp_path: Path
) -> None:
    photo, bar = barred_val
    driver, _ = browser
    wait = WebDriverWait(driver, WAIT_S)
    driver.get(server)
    wait.until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1")
    bad = tmp_path / "notes.png"
    bad.write_text("not a photo at all")
    driver.find_element(By.ID, "files").send_keys(f"{bad}\n{photo}")
    cards = wait.until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".card")) == 2 and d.find_elements(By.CSS_SELECTOR, ".card")
    )
    assert [c.find_element(By.CSS_SELECTOR, "h2").text for c in cards] == ["notes.png", photo.name]
    wait.until(lambda d: cards[0].find_element(By.CSS_SELECTOR, ".error").text)
    said = cards[0].find_element(By.CSS_SELECTOR, ".error").text
    assert "image" in said and "Traceback" not in said and "\n" not in said  # plain words, beside that photo
    # the face box clicked (tool "pick faces"): the face is left out, and restoring says so instead of restoring
    wait.until(lambda d: cards[1].find_elements(By.CSS_SELECTOR, ".faces li"))
    canvas = cards[1].find_element(By.CSS_SELECTOR, "canvas.boxes")
    ys, xs = np.nonzero(bar)
    h, w = bar.shape
    scale = canvas.size["width"] / w
    ActionChains(driver).move_to_element_with_offset(
        canvas, int((xs.mean() - w / 2) * scale), int((ys.mean() - h / 2) * scale)
    ).click().perform()
    wait.until(lambda d: cards[1].find_element(By.CSS_SELECTOR, ".faces li .label").text == "left out")
    driver.find_element(By.ID, "restore-all").click()
    wait.until(lambda d: cards[1].find_element(By.CSS_SELECTOR, ".error").text)
    assert "every face is left out" in cards[1].find_element(By.CSS_SELECTOR, ".error").text
    # taken back: Restore all restores it, the photo that is not one keeps its plain error
    cards[1].find_element(By.CSS_SELECTOR, ".faces li").click()
    wait.until(lambda d: cards[1].find_element(By.CSS_SELECTOR, ".faces li .label").text == "to restore: eyes")
    driver.find_element(By.ID, "restore-all").click()
    wait.until(lambda d: not cards[1].find_element(By.CSS_SELECTOR, ".result").get_attribute("hidden"))
    assert cards[1].find_element(By.CSS_SELECTOR, ".error").text == ""
    assert cards[0].find_element(By.CSS_SELECTOR, ".result").get_attribute("hidden")
    assert "image" in cards[0].find_element(By.CSS_SELECTOR, ".error").text
