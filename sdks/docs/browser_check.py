"""The docs page in a real browser: headless Chromium, driven by Selenium, run by sdks/docs/run.sh.

/docs redirects to /docs/; the page renders the contract (its title and every operation) under the
service's title; no request leaves the machine (Chromium cannot resolve any other host, and every
request it made is listed and checked); and Try-it-out, after Authorize with a bearer token from
/api/v1/oauth/token, calls GET /api/v1/regions and shows the 200, having sent the token. The
examples shown are a reader's: a child as the service answers one, a 409 that says 409.
"""

import http.client
import json
import sys
import tempfile
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

base, username, password = sys.argv[1:4]
origin = urllib.parse.urlsplit(base)
steps = 0
driver = None


def check(condition, message):
    global steps
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        if driver is not None:
            # What the browser saw and said, for whoever reads the CI log.
            shot = tempfile.mkstemp(prefix="docs-check-", suffix=".png")[1]
            driver.save_screenshot(shot)
            print(f"screenshot: {shot}", file=sys.stderr)
            for entry in driver.get_log("browser"):
                print(f"console: {entry['level']} {entry['message']}", file=sys.stderr)
        sys.exit(1)
    steps += 1
    print(f"ok: {message}")


def wait_for(css, within=None, seconds=60):
    """The first element matching `css` (in `within`, else the page) once it is visible."""
    scope = within or driver
    return WebDriverWait(driver, seconds).until(
        lambda _: next((e for e in scope.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()), False),
        f"no visible {css} within {seconds} s",
    )


# a. /docs is a permanent redirect to /docs/ (read without following it).
conn = http.client.HTTPConnection(origin.hostname, origin.port, timeout=10)
conn.request("GET", "/docs")
answer = conn.getresponse()
check(answer.status == 308 and answer.getheader("Location") == "/docs/",
      f"/docs redirects to /docs/ ({answer.status}, Location {answer.getheader('Location')})")
conn.close()

# A token as any client gets one: the password grant, form-encoded (RFC 6749).
form = urllib.parse.urlencode({"grant_type": "password", "username": username, "password": password}).encode()
with urllib.request.urlopen(urllib.request.Request(f"{base}/api/v1/oauth/token", data=form), timeout=10) as r:
    token = json.load(r)["access_token"]

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-default-apps", "--disable-extensions", "--window-size=1400,1000",
             # Every host but loopback is unresolvable: nothing can leave the machine, even if tried.
             "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]:
    options.add_argument(flag)
profile = tempfile.TemporaryDirectory(prefix="docs-check-profile-")
options.add_argument(f"--user-data-dir={profile.name}")
# The performance log holds every request the page made (Network.requestWillBeSent).
options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})

try:
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))

    # b. The page renders the contract: its title and every operation.
    driver.get(f"{base}/docs/")
    title = wait_for(".swagger-ui .info .title")
    check("Tongxing" in title.text, f"the page shows the contract's title ({' '.join(title.text.split())!r})")
    operations = len(driver.find_elements(By.CSS_SELECTOR, ".opblock"))
    check(operations >= 100, f"the page lists the operations ({operations})")

    # The examples are a reader's: a child as the service answers one, a conflict with its own
    # status (not values drawn from patterns).
    operation = driver.find_element(By.ID, "operations-children-get_child")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    example = wait_for(".responses-wrapper .microlight", operation).text
    check("王小雨" in example and "-2147483648" not in example, "the child example is a child's")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    operation = driver.find_element(By.ID, "operations-pairings-create_pairing")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait_for(".responses-wrapper .microlight", operation)
    conflict = operation.find_element(By.CSS_SELECTOR, ".responses-wrapper tr.response[data-code='409']").text
    check('"status": 409' in conflict, "the 409 example says 409")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()

    # e. Authorize with the bearer token, in the page's own dialog.
    driver.find_element(By.CSS_SELECTOR, ".scheme-container .btn.authorize").click()
    dialog = wait_for(".dialog-ux .modal-ux")
    dialog.find_element(By.ID, "auth-bearer-value").send_keys(token)
    dialog.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper .btn.authorize").click()
    wait_for(".auth-btn-wrapper .btn-done", dialog).click()
    WebDriverWait(driver, 10).until(ready.invisibility_of_element_located((By.CSS_SELECTOR, ".dialog-ux")))

    # Try it out on GET /api/v1/regions (tag `regions`, operation id `list_regions`).
    operation = driver.find_element(By.ID, "operations-regions-list_regions")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait_for(".try-out__btn", operation).click()
    wait_for(".btn.execute", operation).click()
    status = wait_for(".live-responses-table .response .response-col_status", operation)
    check(status.text.split()[0] == "200", f"Try-it-out with the token answers 200 ({status.text!r})")
    body = operation.find_element(By.CSS_SELECTOR, ".live-responses-table .response .response-col_description").text
    check('"items"' in body, "the answer shown is a page of regions (it holds items)")

    # f. The page sent the token: the request it shows (as curl) carries it.
    curl = operation.find_element(By.CSS_SELECTOR, ".curl-command").text
    check("Authorization: Bearer " in curl, "the request sent carries Authorization: Bearer")

    # d. No request left the machine: each went to the service or never left the browser.
    urls = set()
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.add(message["params"]["request"]["url"])
    elsewhere = sorted(u for u in urls if not u.startswith(f"{base}/")
                       and urllib.parse.urlsplit(u).scheme not in ("data", "blob", "about", "chrome"))
    ours = sum(u.startswith(f"{base}/") for u in urls)
    check(ours and not elsewhere, f"no request left the machine ({ours} to the service; elsewhere: {elsewhere})")

    # c. The browser's title is the service's, not the viewer's.
    check(driver.title == "Tongxing API", f"the page's title is 'Tongxing API' ({driver.title!r})")
    print(f"docs page in headless Chromium: {steps} checks passed")
finally:
    if driver is not None:
        driver.quit()
    profile.cleanup()
