"""The staff console in a real browser (Debian's chromium) against a real stack started by
`scripts/stack up` with its own ports, databases and demo county (tests/support/stack_up.py,
as the stack's smoke test): the township clerk's and the county officer's main paths, at 1366×768, with a
screenshot of every page (.data/artefacts/screens/) and no serious or critical axe-core
violation on any of them.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta
from typing import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, Response, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from shared.clock import from_env
from tests.registry.helpers import national_id
from tests.registry.sheet_files import row, xlsx
from tests.web.console import DESK, click_item, dev_token, screenshot, serious_accessibility_violations, until

CLERK_TOWNSHIP = "顶云街道"
OTHER_TOWNSHIPS = ("百合街道", "永宁镇", "新铺镇", "花江镇")


@pytest.fixture
def page(browser: Browser, gateway: str) -> Iterator[Page]:
    context = browser.new_context(viewport=DESK, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=gateway,
                                  accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    yield page
    context.close()
    assert not problems, f"JavaScript errors on the page: {problems}"


def sign_in(page: Page, person: str) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.locator(f"[data-person={person}]").click()
    expect(page.get_by_role("heading", name="工作台")).to_be_visible()


def check_accessibility(page: Page) -> None:
    violations = serious_accessibility_violations(page)
    assert not violations, violations


def test_the_gateway_serves_the_console_with_its_routes_and_the_development_sign_in(gateway) -> None:
    index = httpx.get(f"{gateway}/children/some-route-of-the-console", timeout=10)
    assert index.status_code == 200 and "text/html" in index.headers["content-type"]
    asset = re.search(r'src="(/assets/[^"]+\.js)"', index.text).group(1)
    served = httpx.get(f"{gateway}{asset}", headers={"Accept-Encoding": "gzip"}, timeout=10)
    assert served.status_code == 200 and "javascript" in served.headers["content-type"]
    assert served.headers.get("content-encoding") == "gzip"
    people = httpx.get(f"{gateway}/dev-tokens.json", timeout=10).json()["people"]
    assert [p["key"] for p in people] == ["county_officer", "township_clerk", "principal", "teacher"]
    assert httpx.get(f"{gateway}/registry/healthz", timeout=10).json() == {"status": "ok"}  # the APIs stay


def gzipped_bytes(responses: list[Response]) -> int:
    return sum(r.request.sizes()["responseBodySize"] for r in responses)


def test_township_clerk_sees_the_dashboard_finds_a_child_and_opens_the_record(page: Page) -> None:
    scripts: list[Response] = []
    page.on("response", lambda r: scripts.append(r) if r.url.endswith(".js") else None)
    page.goto("/")
    expect(page.get_by_text("开发模式")).to_be_visible()
    page.wait_for_load_state("networkidle")
    first_route = gzipped_bytes(scripts)
    screenshot(page, "01-sign-in")
    check_accessibility(page)

    sign_in(page, "township_clerk")
    expect(page.get_by_test_id("who")).to_contain_text("陈建国")
    expect(page.get_by_test_id("who")).to_contain_text(CLERK_TOWNSHIP)
    chart = page.get_by_test_id("registration-chart")
    expect(chart).to_have_attribute("data-drawn", "true")
    # The chart covers the clerk's township only, with its registered children and 建档率.
    description = chart.get_attribute("aria-label")
    assert CLERK_TOWNSHIP in description and "建档率" in description and not any(t in description for t in OTHER_TOWNSHIPS)
    contacts = page.get_by_test_id("contacts-chart")
    expect(contacts).to_have_attribute("data-drawn", "true")
    assert re.search(r"\d{4}年\d{1,2}月 \d+次", contacts.get_attribute("aria-label"))  # contacts per month
    figures = page.get_by_test_id("figures")
    expect(figures).to_contain_text("在册儿童")
    expect(figures.locator(".figure").first).to_have_text(re.compile(r"^\d[\d,]*人$"))
    screenshot(page, "02-dashboard-township-clerk")
    check_accessibility(page)
    with_dashboard = gzipped_bytes(scripts)
    print(f"JavaScript loaded (gzip): sign-in {first_route / 1024:.0f} KiB, sign-in + dashboard {with_dashboard / 1024:.0f} KiB")
    assert first_route <= 350 * 1024 and with_dashboard <= 350 * 1024

    page.get_by_role("menuitem", name="儿童信息").click()
    rows = page.locator(".el-table__body tr.child-row")
    expect(rows.first).to_be_visible()
    assert all(CLERK_TOWNSHIP in text for text in rows.all_inner_texts())  # only the clerk's scope
    screenshot(page, "03-children")
    check_accessibility(page)

    name = rows.first.locator("a").inner_text()
    page.get_by_role("textbox", name="按姓名、拼音或首字母搜索").fill(name)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_text(re.compile(r"搜索结果 \d+ 人"))).to_be_visible()
    found = page.locator(".el-table__body tr.child-row a")
    assert found.first.inner_text() == name  # the closest match first (similar names may follow)
    assert name not in page.url  # a name never travels in the URL
    screenshot(page, "04-children-search")

    found.first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.get_by_text("基本信息")).to_be_visible()
    expect(page.get_by_text("已按规定部分隐去")).to_be_visible()
    expect(page.locator(".el-breadcrumb")).to_contain_text("儿童信息")
    expect(page.locator(".el-descriptions")).to_contain_text(re.compile(r"\d{4}年\d{1,2}月\d{1,2}日"))
    expect(page.get_by_test_id("pairings")).to_be_visible()
    screenshot(page, "05-child")
    check_accessibility(page)

    page.get_by_role("menuitem", name="逾期任务").click()
    expect(page.get_by_test_id("overdue-count")).to_contain_text("项")
    page.wait_for_load_state("networkidle")
    # Each row by name: the child and the teacher (their owners' batch reads), the township and
    # the school as the registry's registers name them, never a code.
    late = page.get_by_test_id("overdue").locator(".el-table__body tr").first
    expect(late.locator("td").nth(0)).not_to_have_text(re.compile(r"^(…|—)?$"))
    expect(late.locator("td").nth(1)).not_to_have_text(re.compile(r"^(…|—)?$"))
    expect(late.locator("td").nth(3)).to_have_text(re.compile(r"^[^\d]+$"))
    expect(late.locator("td").nth(4)).to_have_text(re.compile(r"^关岭县\S+学"))
    screenshot(page, "06-overdue")
    check_accessibility(page)


def test_township_clerk_imports_a_sheet_and_reads_its_errors_by_row_and_column(page: Page, tmp_path) -> None:
    # Born on a day of its own, so the IDs are new to a stack that imported before.
    born = date(2012, 1, 1) + timedelta(days=uuid.uuid4().int % 3000)
    good = row(name="周雨萱", national_id=national_id(born, "female", sequence=71), gender="",
               birth_date="", county_code="520424000000", township_code="520424002000", village_code="520424002002",
               school_id="demo-school-002-1")
    wrong_id = national_id(born, "male", sequence=72)
    bad = row(name="吴浩然", national_id=wrong_id[:-1] + ("0" if wrong_id[-1] != "0" else "1"), gender="", birth_date="",
              county_code="520424000000", township_code="520424002000", village_code="520424002002")
    sheet = tmp_path / "学校填报.xlsx"
    sheet.write_bytes(xlsx([good, bad]))

    sign_in(page, "township_clerk")
    page.get_by_role("menuitem", name="批量导入").click()
    page.get_by_test_id("import-file").set_input_files(str(sheet))
    page.get_by_role("button", name="上传并导入").click()
    job = page.get_by_test_id("import-job")
    expect(job).to_contain_text("已完成", timeout=60_000)
    expect(job).to_contain_text("导入 1人")
    errors = page.get_by_test_id("import-errors")
    first_error = errors.locator("tbody tr").first
    expect(first_error.locator("td").nth(0)).to_have_text("3")  # the sheet's row (header = row 1)
    expect(first_error.locator("td").nth(1)).to_have_text("身份证号")  # the column as the template names it
    screenshot(page, "07-import")
    check_accessibility(page)

    # The imported child's record shows the ID number as counties print it: first 4, last 4.
    page.get_by_role("menuitem", name="儿童信息").click()
    page.get_by_role("textbox", name="按姓名、拼音或首字母搜索").fill("周雨萱")
    page.get_by_role("button", name="查询").click()
    page.locator(".el-table__body tr.child-row a", has_text="周雨萱").first.click()
    shown_id = page.get_by_test_id("national-id")
    expect(shown_id).to_have_text(re.compile(r"^3301\*{10}\d{3}[\dX]$"))
    assert good[3][4:14] not in page.content()  # the middle of the ID number is nowhere on the page
    screenshot(page, "07b-imported-child-masked")


def test_county_officer_sees_every_township(page: Page) -> None:
    sign_in(page, "county_officer")
    chart = page.get_by_test_id("registration-chart")
    expect(chart).to_have_attribute("data-drawn", "true")
    description = chart.get_attribute("aria-label")
    assert all(t in description for t in (CLERK_TOWNSHIP, *OTHER_TOWNSHIPS)), description
    screenshot(page, "08-dashboard-county-officer")
    check_accessibility(page)

    # The officer may see a record in clear, after saying why; the page says it is recorded.
    page.get_by_role("menuitem", name="儿童信息").click()
    page.locator(".el-table__body tr.child-row a").first.click()
    page.get_by_test_id("reveal").click()
    dialog = page.get_by_role("dialog", name="查看完整信息")
    expect(dialog).to_contain_text("将被记录")
    dialog.get_by_role("textbox").fill("核实监护人联系方式以便家访")
    dialog.get_by_role("button", name="查看").click()
    expect(page.get_by_test_id("revealed")).to_contain_text("本次查看已记录（原因：核实监护人联系方式以便家访）")
    screenshot(page, "08b-child-revealed")
    check_accessibility(page)

    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/sign-in"))
    page.goto("/children")
    expect(page).to_have_url(re.compile(r"/sign-in"))  # signed out means signed out


def click_bar(page: Page, test_id: str, category: int, categories: int, *, series: int, of_series: int) -> None:
    """Clicks a bar of an ECharts bar chart drawn on a canvas, where ECharts lays it out: the
    category's slot along the x axis (grid left and right 48 px, Dashboard.vue), 80 % of it
    shared by the series' bars (barCategoryGap 20 %) with gaps of 30 % of a bar (barGap),
    each at most 40 px (barMaxWidth); 20 px above the axis (grid bottom 32 px), inside every
    bar taller than that."""
    chart = page.get_by_test_id(test_id)
    chart.scroll_into_view_if_needed()   # a mouse click outside the viewport reaches nothing
    box = chart.bounding_box()
    slot = (box["width"] - 96) / categories
    bar = min(40.0, slot * 0.8 / (of_series + 0.3 * (of_series - 1)))
    centre = box["x"] + 48 + slot * (category + 0.5) + (series - (of_series - 1) / 2) * bar * 1.3
    page.mouse.click(centre, box["y"] + box["height"] - 32 - 20)


def an_unpaired_pupil(gateway: str) -> None:
    """A child of a 顶云街道 school new to the stack and not paired, known to the pairing service:
    whatever ran before, one school has a child waiting."""
    headers = {"Authorization": f"Bearer {dev_token(gateway, 'township_clerk')}"}
    schools = httpx.get(f"{gateway}/registry/v1/schools", headers=headers, timeout=20).json()["items"]
    school = next(s for s in schools if s["township_code"] == "520424002000")
    born = date(2015, 1, 1) + timedelta(days=uuid.uuid4().int % 2000)
    child = httpx.post(f"{gateway}/registry/v1/children", headers=headers, timeout=20, json={
        "name": "岑" + "思远可欣子涵"[uuid.uuid4().int % 5:][:2], "gender": "female", "birth_date": born.isoformat(),
        "national_id": national_id(born, "female", region="520424", sequence=uuid.uuid4().int % 100),
        "jurisdiction": {"county_code": "520424000000", "township_code": "520424002000",
                         "village_code": "520424002001"},
        "school_id": school["id"], "categories": ["left_behind"]})
    assert child.status_code == 201, child.text
    child_id = child.json()["id"]
    until(lambda: httpx.get(f"{gateway}/pairing/v1/children/{child_id}", headers=headers, timeout=10).status_code == 200,
          "the pairing service knows the new child")


def test_county_officer_reads_the_dashboard_as_of_a_day_and_opens_each_charts_list(page: Page, gateway: str) -> None:
    an_unpaired_pupil(gateway)
    sign_in(page, "county_officer")
    expect(page.get_by_test_id("as-of")).to_have_text("当前数据")
    today = from_env().today()  # the stack's clock (the tests' environment moves both)

    # Today's end, chosen in the picker: every service answers as of it; the day is in the URL.
    picker = page.get_by_label("数据截至日期")
    picker.click()
    picker.fill(today.isoformat())
    picker.press("Enter")
    page.get_by_role("heading", name="工作台").click()   # the picker takes a typed day when it loses focus
    expect(page).to_have_url(re.compile(rf"as_of={today.isoformat()}"))
    expect(page.get_by_test_id("as-of")).to_have_text(f"数据截至 {today.year}年{today.month}月{today.day}日 日终")
    figures = page.get_by_test_id("figures")
    expect(figures.locator(".figure").first).to_have_text(re.compile(r"^\d[\d,]*人$"))
    expect(page.get_by_test_id("registration-chart")).to_have_attribute("data-drawn", "true")
    expect(figures).to_contain_text(f"{today.year}年{today.month}月联系")
    # Coverage by school, lowest first; a school's unpaired children are one click away.
    schools = page.get_by_test_id("school-coverage").locator("tbody tr")
    expect(schools.first.locator("th")).not_to_have_text("")
    screenshot(page, "08c-dashboard-as-of-a-day")
    check_accessibility(page)
    page.get_by_test_id("school-coverage").get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/children\?(?=.*school_id=)(?=.*paired=false)"))
    page.go_back()

    # A day before any record: the services' own reason is shown, not an empty page.
    page.goto("/?as_of=2000-01-01")
    expect(page.get_by_role("alert")).to_contain_text("早于记录开始之日")

    # The coverage chart's 帮扶覆盖面 bar opens its township's children not paired now.
    page.goto("/")
    chart = page.get_by_test_id("coverage-chart")
    expect(chart).to_have_attribute("data-drawn", "true")
    # The tallest 覆盖面 bar: a township of other tests' unpaired children draws none to click.
    shares = [float(share) if share != "—" else 0.0 for share in
              re.findall(r"覆盖面 ([\d.]+|—)", chart.get_attribute("aria-label") or "")]
    assert shares and max(shares) >= 20, f"a bar tall enough to click: {shares}"

    def bar_opens_the_list() -> bool:
        # A canvas says nothing of where it drew, and in a long suite a first click has been
        # seen to go unheard (the page was still settling); a person clicks again.
        click_bar(page, "coverage-chart", shares.index(max(shares)), len(shares), series=0, of_series=2)
        try:
            page.wait_for_url(re.compile(r"/children\?.*paired=false"), timeout=3000)
        except PlaywrightTimeoutError:
            return False
        return True

    until(bar_opens_the_list, "a click on the 覆盖面 bar opens its township's unpaired children", timeout_s=20)
    expect(page.locator(".el-select", has=page.get_by_role("combobox", name="结对情况"))).to_contain_text("未结对")
    expect(page.locator(".el-table__body tr.child-row").first.or_(page.get_by_text("没有符合条件的儿童"))).to_be_visible()
    screenshot(page, "08d-unpaired-children-of-a-township")

    # The village filter lists the chosen township's villages; the list follows it.
    page.locator(".el-select", has=page.get_by_role("combobox", name="村（社区）")).click()
    village = page.locator(".el-select-dropdown__item:visible").first
    village_name = village.inner_text()
    click_item(village)
    expect(page).to_have_url(re.compile(r"village_code=\d{12}"))
    rows = page.locator(".el-table__body tr.child-row")
    expect(rows.first.or_(page.get_by_text("没有符合条件的儿童"))).to_be_visible()
    assert all(village_name in text for text in rows.all_inner_texts())


def test_a_rejected_token_ends_the_session_and_says_so(page: Page) -> None:
    sign_in(page, "township_clerk")
    # The same person, but a token the services refuse (its signature altered): the next
    # call answers 401 and the console returns to the sign-in page with the reason.
    page.evaluate("""() => {
        const saved = JSON.parse(sessionStorage.getItem('shouhu.dev-session'));
        saved.token = saved.token.slice(0, -4) + (saved.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
        sessionStorage.setItem('shouhu.dev-session', JSON.stringify(saved));
    }""")
    page.goto("/children")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    expect(page.get_by_text("登录已过期，请重新登录")).to_be_visible()
    screenshot(page, "09-session-ended")


def test_an_overloaded_service_is_asked_again_after_retry_after(page: Page) -> None:
    sign_in(page, "township_clerk")
    answered: list[int] = []

    def overloaded_once(route) -> None:
        if not answered:
            answered.append(503)
            route.fulfill(status=503, headers={"Retry-After": "1"}, json={"detail": "temporarily unavailable, retry later"})
        else:
            answered.append(200)
            route.continue_()

    page.route("**/registry/v1/children?*", overloaded_once)
    page.get_by_role("menuitem", name="儿童信息").click()
    expect(page.locator(".el-table__body tr.child-row").first).to_be_visible()
    assert answered == [503, 200]


def test_a_stale_record_says_someone_else_changed_it(page: Page) -> None:
    sign_in(page, "township_clerk")
    page.route("**/registry/v1/children?*", lambda route: route.fulfill(
        status=412, json={"detail": "the record changed"}))
    page.get_by_role("menuitem", name="儿童信息").click()
    expect(page.get_by_text("该记录已被他人修改，请刷新")).to_be_visible()


def test_the_console_fits_a_tablet(browser: Browser, gateway: str) -> None:
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", base_url=gateway, has_touch=True)
    page = context.new_page()
    try:
        sign_in(page, "principal")
        expect(page.get_by_test_id("registration-chart")).to_have_attribute("data-drawn", "true")
        for path, name in (("/", "10-tablet-dashboard"), ("/children", "11-tablet-children")):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            screenshot(page, name)
            # Nothing runs off the side of the screen (tables scroll inside their card).
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    finally:
        context.close()


def test_teacher_sees_the_paired_children_by_name_with_the_familys_numbers(page: Page) -> None:
    page.goto("/")
    page.locator("[data-person=teacher]").click()
    expect(page.get_by_role("heading", name="我的帮扶")).to_be_visible()
    children = page.get_by_test_id("my-children").locator(".el-table__body tr")
    expect(children.first).to_be_visible()
    # Names and phones come from the registry's card of each paired child (audited, 帮扶联系).
    first = children.first.inner_text()
    assert re.search(r"\d+岁", first)
    assert "关岭县" in first and "demo-school" not in first  # the school and village by name, from the card
    assert "祖父母" in first and "grandparent" not in first  # relations by their Chinese names
    expect(children.first.locator("a[href^='tel:']").first).to_be_visible()
    # What is due, for whom: each duty names one of the teacher's children.
    names = set(page.get_by_test_id("my-children").locator(".el-table__body tr td:first-child").all_inner_texts())
    due = page.get_by_test_id("my-duties").locator(".el-table__body tr td:first-child")
    expect(due.first).to_be_visible()
    assert set(due.all_inner_texts()) <= names, (due.all_inner_texts(), names)
    screenshot(page, "09-teacher-my-children")
    check_accessibility(page)
