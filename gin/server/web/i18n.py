"""The console's words in English and Thai; the choice is the ``gin_lang`` cookie (kept
per user too: :mod:`.preference`)."""

from __future__ import annotations

from .words_work import WORDS as WORK_WORDS

LANGUAGES = ("en", "th")

WORDS: dict[str, tuple[str, str]] = {
    "title": ("GIN console", "คอนโซล GIN"),
    "login": ("Log in", "เข้าสู่ระบบ"),
    "logout": ("Log out", "ออกจากระบบ"),
    "user": ("User name", "ชื่อผู้ใช้"),
    "password": ("Password", "รหัสผ่าน"),
    "totp_code": ("One-time code (if your account has one)", "รหัสใช้ครั้งเดียว (หากบัญชีของท่านเปิดใช้)"),
    "search": ("Search", "ค้นหา"),
    "search_hint": ("Agency name (Thai or English), code, or an address",
                    "ชื่อหน่วยงาน (ไทยหรืออังกฤษ) รหัส หรือที่อยู่ IP"),
    "agencies": ("Agencies", "หน่วยงาน"),
    "no_results": ("Nothing found.", "ไม่พบข้อมูล"),
    "whois": ("Address", "ที่อยู่ IP"),
    "code": ("Code", "รหัส"),
    "name_en": ("English name", "ชื่อภาษาอังกฤษ"),
    "name_th": ("Thai name", "ชื่อภาษาไทย"),
    "kind": ("Kind", "ประเภท"),
    "ministry_tree": ("Ministry tree", "สังกัด"),
    "under": ("Under it", "หน่วยงานในสังกัด"),
    "contacts": ("Contacts", "ผู้ติดต่อ"),
    "sites": ("Sites", "สถานที่"),
    "devices": ("Devices", "อุปกรณ์"),
    "prefixes": ("Prefixes", "ช่วงที่อยู่ IP"),
    "links": ("Links", "วงจรเชื่อมต่อ"),
    "tunnels": ("Tunnels", "อุโมงค์ VPN"),
    "changes": ("Recent changes", "การเปลี่ยนแปลงล่าสุด"),
    "description": ("Description", "คำอธิบาย"),
    "change_description": ("Change the description", "แก้ไขคำอธิบาย"),
    "save": ("Save", "บันทึก"),
    "none": ("None.", "ไม่มี"),
    "signed_in_as": ("Signed in as", "ผู้ใช้"),
    "language": ("ภาษาไทย", "English"),
    "wrong_login": ("Wrong user name or password.", "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง"),
    "error": ("Error", "ข้อผิดพลาด"),
    "status_403": ("You are not permitted to do this.", "คุณไม่มีสิทธิ์ทำรายการนี้"),
    "status_404": ("Not found.", "ไม่พบข้อมูลที่ขอ"),
    "status_409": ("It changed in the meantime.", "ข้อมูลถูกแก้ไขไปแล้วระหว่างนี้"),
    "status_other": ("The request was refused.", "คำขอถูกปฏิเสธ"),
    "throttled": ("Too many failed logins: try again in {seconds} s.",
                  "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินไป: ลองใหม่ใน {seconds} วินาที"),
    "back": ("Back to search", "กลับไปหน้าค้นหา"),
    "skip": ("Skip to content", "ข้ามไปยังเนื้อหา"),
    "more": ("and more: refine the search", "และอื่น ๆ: ระบุคำค้นให้แคบลง"),
    # The SOC board, the map, live state (gin/server/web/soc.py, map.py, live.py)
    "soc_board": ("SOC board", "หน้าจอ SOC"),
    "map": ("Map", "แผนที่"),
    "alerts": ("Firing alerts", "การแจ้งเตือนที่กำลังเกิดขึ้น"),
    "alert": ("Alert", "การแจ้งเตือน"),
    "severity": ("Severity", "ระดับความรุนแรง"),
    "agency": ("Agency", "หน่วยงาน"),
    "summary": ("Summary", "สรุป"),
    "since": ("Since (UTC)", "ตั้งแต่ (UTC)"),
    "threats": ("Threat events, last hour", "เหตุการณ์ภัยคุกคามในชั่วโมงที่ผ่านมา"),
    "event_type": ("Type", "ประเภท"),
    "count": ("Events", "จำนวน"),
    "blocks": ("GSI blocks", "การปิดกั้น GSI"),
    "source": ("Source", "ต้นทาง"),
    "expires": ("Expires (UTC)", "หมดอายุ (UTC)"),
    "reason": ("Reason", "เหตุผล"),
    "actor": ("By", "โดย"),
    "block": ("Block", "ปิดกั้น"),
    "block_new": ("Block a source", "ปิดกั้นต้นทาง"),
    "lift": ("Lift", "ยกเลิกการปิดกั้น"),
    "lift_reason": ("Reason to lift", "เหตุผลที่ยกเลิก"),
    "duration": ("For", "ระยะเวลา"),
    "ttl_1h": ("1 hour", "1 ชั่วโมง"),
    "ttl_1d": ("1 day", "1 วัน"),
    "ttl_7d": ("7 days", "7 วัน"),
    "unavailable": ("Not available", "ไม่พร้อมใช้งาน"),
    "live_up": ("up", "ใช้งานได้"),
    "live_down": ("down", "ขัดข้อง"),
    "live_unknown": ("not monitored", "ไม่ได้ตรวจวัด"),
    "live_problem": ("Live state not available", "ไม่มีสถานะสด"),
    "map_title": ("The GIN on the map", "เครือข่าย GIN บนแผนที่"),
    "down_links": ("Links down", "วงจรที่ขัดข้อง"),
    "map_counts": ("{sites} sites, {links} links: {up} up, {down} down, {unknown} not monitored",
                   "{sites} สถานที่ {links} วงจร: ใช้งานได้ {up} ขัดข้อง {down} ไม่ได้ตรวจวัด {unknown}"),
    "map_source": ("Province boundaries: Natural Earth (public domain)",
                   "เขตจังหวัด: Natural Earth (สาธารณสมบัติ)"),
}


#: Every page's words: these and each page module's own list.
CATALOGUES = (WORDS, WORK_WORDS)


def words(lang: str) -> dict[str, str]:
    index = 1 if lang == "th" else 0
    return {key: pair[index] for catalogue in CATALOGUES for key, pair in catalogue.items()}
