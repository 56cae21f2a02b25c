"""Names that the Han-surname rule misses, and place names that it wrongly takes.

- Pinyin names (``Zhang San``, ``ZHANG San``, ``Zhang Sanfeng``, ``Sanfeng ZHANG``):
  a pinyin surname and a given name of one to three syllables, in either order,
  checked against the table of Mandarin syllables (RE2, no per-value Python).
- Minority names without a Han surname: Tibetan, Mongolian and Uyghur name parts
  (扎西多吉, 次仁卓玛, 巴特尔, 买买提艾力); dotted forms (阿依古丽·买买提) are in
  ``detectors.DOTTED_NAME_PATTERN``.
- Look-alikes: scenic spots, landmarks and places (黄鹤楼, 西湖, 张家界, 周庄) fit
  "surname + one or two characters"; they end in a landmark word or are the
  stem of a GB/T 2260 division name, and are not person names.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pyarrow.compute as pc

from gongshu.discovery.columns import ColumnView, as_bool, take_where
from gongshu.identifiers import region_codes

SYLLABLES = tuple(
    """
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai
    can cang cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua
    chuai chuan chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de
    dei den deng di dia dian diao die ding diu dong dou du duan dui dun duo e ei en eng er fa
    fan fang fei fen feng fo fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai
    guan guang gui gun guo ha hai han hang hao he hei hen heng hong hou hu hua huai huan huang
    hui hun huo ji jia jian jiang jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang
    kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la lai lan lang lao le lei
    leng li lia lian liang liao lie lin ling liu lo long lou lu luan lun luo lv lve lyu ma mai
    man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne
    nei nen neng ni nian niang niao nie nin ning niu nong nou nu nuan nuo nv nve nyu o ou pa
    pai pan pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao
    qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui
    run ruo sa sai san sang sao se sen seng sha shai shan shang shao she shei shen sheng shi
    shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo ta tai tan
    tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang wei wen
    weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao ye
    yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan
    zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi
    zong zou zu zuan zui zun zuo
    """.split()
)

# The common surnames in Hanyu Pinyin (several characters share a spelling),
# compound surnames, and the Hong Kong / Taiwan spellings seen in registers.
PINYIN_SURNAMES = tuple(
    """
    wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he gao lin luo zheng
    liang xie song tang han feng deng cao peng zeng xiao tian dong yuan pan yu jiang cai du ye
    cheng su wei lv lyu lu ding ren shen yao cui zhong tan wan fan jin shi liao jia xia fu fang
    bai zou meng xiong qin qiu yin xue yan duan lei hou long tao gu mao hao gong shao qian dai
    mo kong xiang chang wen kang niu ge xing an qi qiao pang ni zhuang nie yue zhai zhan ou geng
    guan lan jiao zuo gan bao ning shang ruan ke ji mei tong ling bi shan pei huo tu miao sheng
    qu weng ran you xin chai hua pu teng rao mu ai nong si zhuo che lian mai chu lou dou cen
    jing dang fei bu leng xi mi zong gui quan zang min gou bian luan sui diao sha rong kou sang
    lang zhen cong ao ming she chi kuang ju hui le nan ban lao pi xian man yi hai qiang shuai
    piao gai zu ba zhi qing di ping suo xuan men yun lai chao rui bo yong tai hang na ru jie
    dan shu hong
    ouyang sima shangguan zhuge dongfang huangfu yuchi gongsun murong zhangsun yuwen situ
    xiahou xuanyuan linghu duanmu dugu nangong ximen baili huyan tantai shentu zhongli
    lee chan wong cheung chow ng lau leung yeung tsang kwok ho lam fung chiu
    """.split()
)

# Name parts of Tibetan, Mongolian and Uyghur names written in Chinese characters.
MINORITY_NAME_PARTS = tuple(
    """
    扎西 次仁 多吉 卓玛 格桑 央金 德吉 旺堆 尼玛 达瓦 拉姆 平措 索朗 顿珠 普布 边巴 巴桑
    白玛 群培 洛桑 丹增 曲珍 旦增 措姆 益西 强巴 琼达 桑珠 拉巴 次旦 米玛 仁增 贡布 朗杰
    嘎玛 土登 才让 卓嘎 央宗 次央 罗布 加措 嘉措 多杰 才旦 吉美 欧珠 斯朗 玉珍 德庆
    巴特尔 苏和 朝鲁 其木格 乌云 娜仁 图雅 额尔敦 宝音 巴雅尔 斯琴 萨仁 那顺 布和 哈斯
    阿拉坦 乌兰 其其格 格日勒 敖登 呼和 孟和 巴图 特木尔 毕力格 满都拉 白音
    买买提 艾力 阿不都 热合曼 古丽 阿依 努尔 吐尔逊 艾合买提 依明 玉素甫 阿布都 艾则孜
    帕提古丽 迪丽拉 热依拉 阿迪力 麦麦提 吐逊 艾尼 肉孜 阿力木 努尔兰 库尔班 阿依古丽
    """.split()
)

# A value ending in one of these is a landmark or place, not a person (黄鹤楼, 西湖, 颐和园).
PLACE_ENDINGS = (
    "楼樓塔阁閣寺庙廟宫宮殿祠陵墓堰窟桥橋园園苑湖池潭瀑峡峽洞岛島屿嶼湾灣滩灘岭嶺寨堡坊巷街港"
    "沟溝坛壇墟府亭塘路关關州县縣区區镇鎮乡鄉村庄莊洲堆碑墙牆门門台臺口"
)
PLACE_WORDS = (
    "广场",
    "廣場",
    "公园",
    "公園",
    "景区",
    "景區",
    "古城",
    "古镇",
    "古鎮",
    "故居",
    "遗址",
    "遺址",
    "大佛",
    "石窟",
    "草堂",
    "书院",
    "書院",
    "山庄",
    "山莊",
    "水库",
    "水庫",
    "大桥",
    "大橋",
    "大道",
    "森林",
    "湿地",
    "濕地",
    "长城",
    "長城",
    "大峡谷",
    "风景区",
    "名胜区",
    "街道",
)
_DIVISION_SUFFIXES = (
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "林区",
    "地区",
    "矿区",
    "特区",
    "新区",
    "省",
    "市",
    "县",
    "区",
    "盟",
    "旗",
)


def _alt(words: tuple[str, ...]) -> str:
    return "|".join(sorted(set(words), key=len, reverse=True))


_SYL = f"(?:{_alt(SYLLABLES)})"
_SUR = f"(?:{_alt(PINYIN_SURNAMES)})"
# lowered, separators normalized to one space: "zhang san", "zhang sanfeng", "sanfeng zhang"
PINYIN_NAME_PATTERN = (
    rf"^{_SUR} {_SYL}{{1,3}}(?: {_SYL}{{1,2}})?$|^{_SYL}{{1,3}}(?: {_SYL}{{1,2}})? {_SUR}$"
)
MINORITY_NAME_PATTERN = rf"^(?:{_alt(MINORITY_NAME_PARTS)}){{1,2}}$"


@lru_cache(maxsize=1)
def place_stems() -> tuple[str, ...]:
    """GB/T 2260 division names and their stems (杭州市 -> 杭州, 黄山区 -> 黄山)."""
    out = set()
    for name in region_codes().values():
        if not name:
            continue
        out.add(name)
        for suffix in _DIVISION_SUFFIXES:
            if name.endswith(suffix) and len(name) - len(suffix) >= 2:
                out.add(name[: -len(suffix)])
                break
    return tuple(sorted(out))


PLACE_PATTERN = rf"(?:[{PLACE_ENDINGS}]|{_alt(PLACE_WORDS)})$"


def looks_like_place(c: ColumnView) -> np.ndarray:
    """Values that are landmarks or places: a landmark ending, or a division name."""
    key = ("place",)
    if key not in c._cache:
        c._cache[key] = c.match("compact", PLACE_PATTERN) | c.isin("compact", place_stems())
    return c._cache[key]


def pinyin_names(c: ColumnView) -> np.ndarray:
    """Names written in pinyin: ``Zhang San``, ``ZHANG San``, ``Zhang, Sanfeng``."""
    key = ("pinyin",)
    if key not in c._cache:
        ascii_words = c.match("trim", r"^[A-Za-z][A-Za-z'’]*(?:[ ,.·\-]+[A-Za-z'’]+){1,2}$")
        out = np.zeros(len(c), dtype=bool)
        if ascii_words.any():
            idx, sub = take_where(c.trim, ascii_words)
            low = pc.utf8_lower(sub)
            low = pc.replace_substring_regex(low, r"['’]", "")
            low = pc.replace_substring_regex(low, r"[ ,.·\-]+", " ")
            out[idx] = as_bool(pc.match_substring_regex(low, PINYIN_NAME_PATTERN))
        c._cache[key] = out
    return c._cache[key]
