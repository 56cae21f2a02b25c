"""Entities inside running text: the span-level recognizer (issue 21 item 1).

Two vectorized passes over the prose values of a column, no Python per value:

1. Codes. Digit groups written with spaces or dashes are joined
   (``138 1234 5678``, ``6222 0212 ...``), every alphanumeric run (with mask
   characters) becomes a candidate token (``pc.split_pattern_regex`` +
   ``list_flatten``), and the tokens form a small :class:`ColumnView` that the
   column kernels check: GB 11643, GB 32100, Luhn + BIN, VIN check digits,
   mobile prefixes, and the masked forms. A token counts for the first kernel
   it passes (priority order), and a row holds the entity when one of its
   tokens does. Bank cards and IMEIs also need a context word in the row
   (卡号, 银行, IMEI ...) unless the card carries the UnionPay BIN 62.
2. Words. RE2 patterns find licence plates, e-mails, addresses with a house
   number, organizations with a legal-form ending, diagnoses, and names
   introduced by a context word (投诉人, 联系人, 市民 ...) or followed by a
   title (先生, 女士); gender, ethnicity, birth dates, education and religion
   only after their label (性别：男).

Each ``T_*`` detector returns ``(shape, valid)`` per row, like every kernel.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from gongshu.discovery import masked, vocab
from gongshu.discovery.checksums import k_bank_card, k_imei, k_uscc, k_vin, resident_id_birth
from gongshu.discovery.columns import ColumnView, Masks, as_bool, take_where

MOBILE = r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}"
_BANK_CONTEXT = (
    r"卡|账号|帳號|账户|帳戶|银行|銀行|转账|轉賬|汇款|匯款|退款|借记|信用|储蓄|開戶|开户|(?i:card)"
)
_IMEI_CONTEXT = r"(?i:imei|meid)|串号|串號|设备号|設備號"


def _alt(words) -> str:  # noqa: ANN001
    return "|".join(sorted(set(words), key=len, reverse=True))


def prose_rows(c: ColumnView) -> np.ndarray:
    """Values that read as prose: 12+ characters with sentence punctuation, or 40+."""
    key = ("prose",)
    if key not in c._cache:
        long = c.texty & (c.lengths >= 12)
        c._cache[key] = long & ((c.lengths >= 40) | c.match("trim", r"[，。！？；、]|[,;!?]\s"))
    return c._cache[key]


def _token_kernels():  # noqa: ANN202 - priority order, as detectors.DETECTORS
    from gongshu.discovery.detectors import BY_KEY

    return (
        ("T_ID", lambda v: resident_id_birth(v)[:2]),
        ("T_USCC", k_uscc),
        ("T_PASSPORT", BY_KEY["PASSPORT"].kernel),
        ("T_PERMIT", BY_KEY["HK_MACAO_PERMIT"].kernel),
        ("T_VIN", k_vin),
        ("T_BANK", k_bank_card),
        ("T_IMEI", k_imei),
        ("T_MOBILE", BY_KEY["CN_MOBILE"].kernel),
        ("T_LANDLINE", BY_KEY["CN_LANDLINE"].kernel),
        ("TM_ID", masked.k_masked_id),
        ("TM_MOBILE", masked.k_masked_mobile),
        ("TM_BANK", masked.k_masked_bank),
    )


_RUN_BYTES = np.zeros(256, dtype=bool)  # ASCII bytes a code is written with
for _ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz*+ -":
    _RUN_BYTES[ord(_ch)] = True
# Full-width digits and letters, ＊ × ●: rare, normalized (NFKC) in the rows holding them.
_WIDE = r"[０-９Ａ-Ｚａ-ｚ＊×●]"


def _runs(text: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """(row, run) for every run of code bytes (``[0-9A-Za-z*+ -]``, 7+ bytes, 3+ digits)
    in the UTF-8 buffer of ``text``, found with numpy: ASCII bytes never occur inside a
    multi-byte character, so the runs are whole characters."""
    text = text.cast(pa.string())
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int32)[
        text.offset : text.offset + len(text) + 1
    ].astype(np.int64)
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
    offsets = offsets - offsets[0]
    ok = _RUN_BYTES[data]
    edge = np.zeros(len(data) + 1, dtype=bool)
    edge[offsets] = True  # runs never cross from one value into the next
    first = ok.copy()  # a run starts where the previous byte is no code byte, or a value starts
    first[1:] &= ~ok[:-1] | edge[1:-1]
    last = ok.copy()
    last[:-1] &= ~ok[1:] | edge[1:-1]
    starts, ends = np.flatnonzero(first), np.flatnonzero(last) + 1
    digit_at = np.flatnonzero((data >= 48) & (data <= 57))
    digits = np.searchsorted(digit_at, ends) - np.searchsorted(digit_at, starts)
    keep = (ends - starts >= 7) & (digits >= 3)
    starts, ends = starts[keep], ends[keep]
    lens = ends - starts
    out_offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    pos = np.repeat(starts - out_offsets[:-1], lens) + np.arange(out_offsets[-1])
    runs = pa.StringArray.from_buffers(
        len(starts), pa.py_buffer(out_offsets), pa.py_buffer(data[pos].tobytes())
    )
    rows = np.searchsorted(offsets, starts, side="right") - 1
    return rows, pc.utf8_trim(runs, " -")


def _tokens(c: ColumnView) -> tuple[np.ndarray, pa.Array]:
    """(row of each candidate token, the tokens) over the texty values: one numpy pass
    over the text's bytes; the rest works on the (few, short) tokens only."""
    idx, text = take_where(c.trim, c.texty)
    wide = as_bool(pc.match_substring_regex(text, _WIDE))
    if wide.any():
        sub = pc.replace_substring_regex(pc.filter(text, pa.array(wide)), "[×●]", "*")
        text = pc.replace_with_mask(text, pa.array(wide), pc.utf8_normalize(sub, "NFKC"))
    parent, flat = _runs(text)
    parent = idx[parent]
    # "138 1234 5678" and "6222-0212-..." joined; the separate groups stay candidates too
    spaced = as_bool(pc.match_substring_regex(flat, r"[ \-]"))
    rows, toks = [parent], [pc.replace_substring_regex(flat, r"[ \-]+", "")]
    if spaced.any():
        groups = pc.split_pattern_regex(pc.filter(flat, pa.array(spaced)), r"[ \-]+")
        rows.append(parent[spaced][pc.list_parent_indices(groups).to_numpy(zero_copy_only=False)])
        toks.append(pc.list_flatten(groups))
    rows_all, toks_all = np.concatenate(rows), pa.concat_arrays(toks)
    ok = as_bool(pc.match_substring_regex(toks_all, r"^\+?[0-9A-Za-z*]{7,30}$"))
    return rows_all[ok], pc.filter(toks_all, pa.array(ok))


def _context(c: ColumnView, rows: np.ndarray, valid: np.ndarray, pattern: str) -> np.ndarray:
    """Per token: does its row hold a context word? (read only in rows with a candidate)"""
    out = np.zeros(len(rows), dtype=bool)
    if valid.any():
        wanted = np.zeros(len(c), dtype=bool)
        wanted[rows[valid]] = True
        idx, sub = take_where(c.trim, wanted)
        hit = np.zeros(len(c), dtype=bool)
        hit[idx] = as_bool(pc.match_substring_regex(sub, pattern))
        out = hit[rows]
    return out


def code_rows(c: ColumnView) -> dict[str, np.ndarray]:
    """Per ``T_*`` code key, the rows of ``c`` holding at least one valid token."""
    key = ("code_rows",)
    if key in c._cache:
        return c._cache[key]
    n = len(c)
    out = {k: np.zeros(n, dtype=bool) for k, _ in _token_kernels()}
    if c.texty.any():
        rows, toks = _tokens(c)
        if len(toks):
            view = ColumnView(toks.cast(pa.string()), c.today)
            free = np.ones(len(toks), dtype=bool)
            for k, kernel in _token_kernels():
                _, valid = kernel(view)
                if k == "T_BANK":
                    valid = valid & (
                        _context(c, rows, valid, _BANK_CONTEXT) | view.match("compact", r"^62")
                    )
                elif k == "T_IMEI":
                    valid = valid & _context(c, rows, valid, _IMEI_CONTEXT)
                valid &= free
                free &= ~valid
                out[k][rows[valid]] = True
    c._cache[key] = out
    return out


def code_kernel(key: str):  # noqa: ANN201
    def kernel(c: ColumnView) -> Masks:
        m = code_rows(c)[key]
        return m, m

    return kernel


# ------------------------------------------------------------------ word patterns

_SURNAME = rf"(?:{_alt(vocab.COMPOUND_SURNAMES)}|[{vocab.SINGLE_SURNAMES}])"
# Characters that start a phrase, not a given name, after a context word.
_NOT_GIVEN = (
    "来電电话號号码碼反映投诉訴称稱表示于在因的了是不没沒有到说說要请請等和与與及对對把被从從向给給"
    "其此该該这這那人们們个個户戶已未无無将將能可会會也都就再又还還并且或但所以为為之上下中内外前后後"
    "某姓名先女男同我你他她它您家属屬多次现現今昨该去至由经經让讓叫帮幫将把月日年时時分元件车車房"
    "住址区區市省县縣街路楼樓室号號证證件身份手机機联聯系繫病患医醫院办辦理回访訪告知情况況问問题題"
)
_GIVEN = rf"[^\x00-\x7F，。、；：？！“”‘’（）《》【】…—·\s{_NOT_GIVEN}{masked.MASK_CHARS}]"
# (existence only: one given-name character, or one mask, is enough to match)
_NAME = rf"{_SURNAME}(?:{_GIVEN}|[{masked.MASK_CHARS}])"
_NAME_CONTEXT = (
    "姓名|联系人|聯繫人|聯絡人|患者|病人|申请人|申請人|户主|戶主|当事人|當事人|负责人|負責人|经办人|經辦人"
    "|承办人|承辦人|报案人|報案人|投诉人|投訴人|举报人|舉報人|反映人|来电人|來電人|家属|家屬|家长|家長|监护人"
    "|監護人|市民|居民|村民|业主|業主|车主|車主|租户|租戶|房东|房東|住户|住戶|本人|我叫|名叫|叫做|学生|學生"
    "|员工|員工|职工|職工|司机|司機|驾驶员|駕駛員|驾驶人|駕駛人|收件人|寄件人|被申请人|被投诉人|嫌疑人|受害人"
    "|被害人|证人|證人|原告|被告|老人|儿子|兒子|女儿|女兒|丈夫|妻子|父亲|父親|母亲|母親|亲属|親屬|代理人"
    "|法定代表人|法人|网格员|網格員|社工|民警|医生|醫生|护士|護士|工作人员|工作人員"
)
_TITLES = "先生|女士|小姐|同志|老师|老師|医生|醫生|师傅|師傅|阿姨|大爷|大爺|大妈|大媽|律师|律師"
_SAYS = (
    "来电|來電|反映|投诉|投訴|称|稱|表示|举报|舉報|咨询|諮詢|要求|报警|報警|报案|報案|诉称|訴稱"
    "|致电|致電"
)
_ABOUT = (
    "身份证|身份證|公民身份|证件号|證件號|手机|手機|电话|電話|联系方式|聯繫方式|住址|家住|现住|現住"
)
NAME_IN_TEXT = (
    rf"(?:{_NAME_CONTEXT})[:：为為是\s]*{_NAME}"
    rf"|(?:^|[^这這那该該一两兩几幾每各位某])(?:{_SURNAME})\p{{Han}}{{0,2}}(?:{_TITLES})"
    # 张三来电反映 / 张三，身份证号 ...: a name that opens a sentence
    rf"|(?:^|[，。；：、\s(（])(?:{_SURNAME}){_GIVEN}{{1,2}}[，,（(\s]*(?:{_SAYS}|{_ABOUT})"
)
PLATE_IN_TEXT = (
    rf"[{vocab.PROVINCE_CHARS}]\s?[A-HJ-NP-Z][·\s]?(?:[A-HJ-NP-Z0-9]{{4}}[A-HJ-NP-Z0-9挂学警港澳]"
    rf"|[DF][A-HJ-NP-Z0-9]{{5}}|\d{{5}}[DF]|[A-HJ-NP-Z0-9]{{0,3}}\*{{1,4}}[A-HJ-NP-Z0-9]{{1,4}})"
    r"(?:[^A-Za-z0-9]|$)"
)
EMAIL_IN_TEXT = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
_UNIT = r"(?:省|自治区|自治區|市|区|區|县|縣|旗|镇|鎮|乡|鄉|街道)"
_HOUSE = (
    r"(?:\d+|[一二三四五六七八九十百]+)(?:号|號|弄|栋|棟|幢|组|組|室|单元|單元|号楼|號樓|层|層)"
    r"|[A-Za-z]座|\*{2,}"
)
ADDRESS_IN_TEXT = (
    rf"\p{{Han}}\p{{Han}}{_UNIT}[^，。；;,！？!?\s]*?(?:{_HOUSE})"
    rf"|\p{{Han}}\p{{Han}}(?:路|街|大道|巷|胡同)(?:\d+|[一二三四五六七八九十百]+)(?:号|號|弄)"
)
_ORG_FORMS = (
    "有限责任公司|有限責任公司|股份有限公司|有限公司|集团有限公司|集團|集团|人民医院|人民醫院|中心医院"
    "|卫生院|衛生院|居民委员会|村民委员会|居委会|村委会|街道办事处|派出所|人民政府|人民法院|人民检察院"
    "|律师事务所|会计师事务所|幼儿园|幼兒園"
)
_ORG_CHAR = (
    r"[^\x00-\x7F，。、；：？！“”（）\s的了去到在给向找对和与及说是被把从让叫请该这那其此我你他她]"
)
ORG_IN_TEXT = rf"{_ORG_CHAR}{_ORG_CHAR}(?:{_ORG_FORMS})"
GENDER_IN_TEXT = r"性[别別][:：\s]*[男女]|[，,（(、]\s*[男女](?:性)?\s*[，,）)、]"
ETHNICITY_IN_TEXT = rf"(?:民族[:：\s]*|[，,（(、])(?:{_alt(vocab.ETHNIC_GROUPS)})"
BIRTH_IN_TEXT = (
    r"(?:出生日期|出生年月|生日|出生于|出生於|生于|生於)[:：\s]*(?:19|20)\d{2}"
    r"|(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?\s*(?:出生|生人)"
)
EDUCATION_IN_TEXT = (
    rf"(?:学历|學歷|文化程度|毕业|畢業)[:：\s为為是]*(?:{_alt(vocab.EDUCATION_LEVELS)})"
)
RELIGION_IN_TEXT = rf"(?:宗教信仰|信仰|信奉|皈依)[:：\s为為是]*(?:{_alt(vocab.RELIGIONS)})"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IP_IN_TEXT = rf"(?:^|[^\d.])(?:{_OCTET}\.){{3}}{_OCTET}(?:[^\d.]|$)"
MAC_IN_TEXT = r"(?:^|[^0-9A-Fa-f:\-])[0-9A-Fa-f]{2}(?:[:\-][0-9A-Fa-f]{2}){5}(?:[^0-9A-Fa-f:\-]|$)"
GEO_IN_TEXT = (
    r"(?:经度|經度|纬度|緯度|经纬度|經緯度|坐标|座標|定位|(?i:gps|lng|lat))[:：\s]*[(（]?"
    r"\s*-?\d{1,3}\.\d{4,}"
)
ACCOUNT_IN_TEXT = (
    r"(?:用户名|用戶名|登录名|登錄名|账号|帳號|微信号|微信號|(?i:qq)号?|昵称|暱稱)[:：\s为為是]*"
    r"[A-Za-z][A-Za-z0-9_.\-@]{3,31}"
)
MEDICAL_IN_TEXT = _alt(vocab.DIAGNOSES)

WORD_PATTERNS: dict[str, str] = {
    "T_PLATE": PLATE_IN_TEXT,
    "T_EMAIL": EMAIL_IN_TEXT,
    "T_NAME": NAME_IN_TEXT,
    "T_ADDRESS": ADDRESS_IN_TEXT,
    "T_ORG": ORG_IN_TEXT,
    "T_MEDICAL": MEDICAL_IN_TEXT,
    "T_GENDER": GENDER_IN_TEXT,
    "T_ETHNICITY": ETHNICITY_IN_TEXT,
    "T_BIRTH": BIRTH_IN_TEXT,
    "T_EDUCATION": EDUCATION_IN_TEXT,
    "T_RELIGION": RELIGION_IN_TEXT,
    "T_IP": IP_IN_TEXT,
    "T_MAC": MAC_IN_TEXT,
    "T_GEO": GEO_IN_TEXT,
    "T_ACCOUNT": ACCOUNT_IN_TEXT,
}
# A cheap literal gate first: most rows hold none of these labels.
_GATES = {
    "T_EMAIL": "@",
    "T_GENDER": r"性[别別]|[男女]",
    "T_ETHNICITY": "族",
    "T_BIRTH": r"出生|生日|生[于於]",
    "T_EDUCATION": r"学历|學歷|文化程度|毕业|畢業",
    "T_RELIGION": r"信仰|信奉|皈依",
    "T_IP": r"\d\.\d",
    "T_MAC": r"[0-9A-Fa-f][:\-][0-9A-Fa-f]",
    "T_GEO": r"经|經|纬|緯|坐标|座標|定位|(?i:gps|lng|lat)",
    "T_ACCOUNT": r"用户名|用戶名|登录名|登錄名|账号|帳號|微信|(?i:qq)|昵称|暱稱",
}


def word_kernel(key: str):  # noqa: ANN201
    pattern, gate = WORD_PATTERNS[key], _GATES.get(key)

    def kernel(c: ColumnView) -> Masks:
        m = c.texty if gate is None else c.texty & c.match("trim", gate)
        if m.any():
            idx, sub = take_where(c.trim, m)
            m = m.copy()
            m[idx] = as_bool(pc.match_substring_regex(sub, pattern))
        return m, m

    return kernel
