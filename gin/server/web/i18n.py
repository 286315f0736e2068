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
}


#: Every page's words: these and each page module's own list.
CATALOGUES = (WORDS, WORK_WORDS)


def words(lang: str) -> dict[str, str]:
    index = 1 if lang == "th" else 0
    return {key: pair[index] for catalogue in CATALOGUES for key, pair in catalogue.items()}
