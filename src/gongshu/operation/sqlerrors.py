"""DuckDB's errors said as what the user did wrong (issue 17 item 5).

The sandbox never shows the engine's English message: each known error is matched and
said in Chinese, naming the word, column, table or function at fault; anything else is
a plain "the statement could not be run" with the hint to check it.
"""

from __future__ import annotations

import re

TYPES = {
    "INT8": "整数",
    "INT16": "整数",
    "INT32": "整数",
    "INT64": "整数",
    "INTEGER": "整数",
    "BIGINT": "整数",
    "HUGEINT": "整数",
    "DOUBLE": "数值",
    "FLOAT": "数值",
    "DECIMAL": "数值",
    "DATE": "日期",
    "TIMESTAMP": "日期时间",
    "BOOLEAN": "是/否",
    "VARCHAR": "文本",
}

# (pattern on the engine's first line, message with the groups filled in)
RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r'syntax error at or near "(.+?)"'),
        "SQL 语法错误：在“{0}”附近写法有误，请检查拼写、逗号、引号和括号",
    ),
    (re.compile(r"syntax error at end of input"), "SQL 语句不完整：结尾缺少内容，请补全语句"),
    (
        re.compile(r'Referenced column "(.+?)" not found'),
        '字段“{0}”不存在：请核对字段名；中文字段名请用英文双引号括起，如 "姓名"',
    ),
    (
        re.compile(r"Table with name (\S+) does not exist"),
        "数据表“{0}”不存在或未获授权：只能查询本协议授权的沙箱表",
    ),
    (
        re.compile(r"(?:Scalar |Aggregate |Table )?Function with name (\S+) does not exist"),
        "函数“{0}”不存在或不可用，请核对函数名",
    ),
    (
        re.compile(r'Function "(.+?)" is a table function'),
        "“{0}”是表函数，沙箱中不允许调用",
    ),
    (
        re.compile(r'column "(.+?)" must appear in the GROUP BY clause'),
        "字段“{0}”须写进 GROUP BY，或放在聚合函数（如 count、sum）里",
    ),
    (
        re.compile(r'Ambiguous reference to column name "(.+?)"'),
        '字段“{0}”在多张表中都有，请写明表名，如 表名."{0}"',
    ),
    (
        re.compile(r"Could not convert string '(.*?)' to (\w+)"),
        "值“{0}”不能转换为{1}，请检查比较或转换的类型",
    ),
    (
        re.compile(r"No function matches the given name and argument types '(\w+)\("),
        "函数 {0} 的参数类型不对，请检查传给它的字段类型",
    ),
    (
        re.compile(r"Cannot compare values of type (\w+) and type (\w+)"),
        "不能比较{0}和{1}类型的值，请先转换类型",
    ),
    (re.compile(r"Division by zero"), "除数为零，请排除为零的分母"),
)


def explain(message: str) -> str:
    """The engine's message (its first line) as what to correct, in Chinese."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    for pattern, text in RULES:
        if m := pattern.search(first):
            groups = [TYPES.get(g, g) if i else g for i, g in enumerate(m.groups())]
            if pattern.pattern.startswith("Cannot compare"):
                groups = [TYPES.get(g, g) for g in m.groups()]
            return text.format(*groups)
    return "查询无法执行：请检查 SQL 语句中的表名、字段名和函数是否正确"
