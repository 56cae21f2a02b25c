"""Grading rules: entity -> category, sensitivity, grade and default masking;
table -> suggested grade and important-data candidacy (SEC-1, SEC-2, SEC-3, CAT-7).

The rules live in a TOML file (``rules/default_rules.toml`` ships the
defaults); an administrator edits a copy and loads it with :meth:`Rules.load`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from gongshu.errors import InvalidInput

if TYPE_CHECKING:
    from gongshu.discovery.classifier import TableResult

DEFAULT_RULES = Path(__file__).with_name("rules") / "default_rules.toml"


@dataclass(frozen=True)
class EntityRule:
    category: str
    sensitive: bool
    grade: str
    masking: str


@dataclass(frozen=True)
class ImportantRule:
    reason: str
    min_rows: int = 0
    any_sensitive: bool = False
    any_personal: bool = False
    all_entities: tuple[str, ...] = ()


@dataclass
class Rules:
    version: str
    grades: list[str]
    entities: dict[str, EntityRule]
    minors_share: float = 0.3
    no_entity_grade: str = "general-1"
    minors_grade: str = "general-4"
    important: list[ImportantRule] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Rules:
        """Parse and check a rules file; a mistake names the file and the key."""
        p = Path(path)
        try:
            raw = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidInput(f"分级规则文件无法读取：{p.name}：{exc}") from exc
        return cls.from_dict(raw, source=p.name)

    @classmethod
    def from_dict(cls, raw: dict, *, source: str = "rules") -> Rules:
        try:
            grades = list(raw["grades"])
            entities = {code: EntityRule(**spec) for code, spec in raw["entities"].items()}
            important = [
                ImportantRule(**(r | {"all_entities": tuple(r.get("all_entities", ()))}))
                for r in raw.get("important", [])
            ]
            rules = cls(
                version=str(raw["version"]),
                grades=grades,
                entities=entities,
                minors_share=float(raw.get("minors_share", 0.3)),
                no_entity_grade=raw.get("no_entity_grade", grades[0]),
                minors_grade=raw.get("minors_grade", grades[0]),
                important=important,
            )
        except (KeyError, TypeError) as exc:
            raise InvalidInput(f"分级规则缺少或多出字段：{source}：{exc}") from exc
        used = [e.grade for e in entities.values()] + [rules.no_entity_grade, rules.minors_grade]
        unknown = sorted(set(used) - set(grades))
        if unknown:
            raise InvalidInput(f"分级规则使用了未定义的级别：{source}：{'、'.join(unknown)}")
        return rules

    def is_sensitive(self, entity: str) -> bool:
        rule = self.entities.get(entity)
        return bool(rule and rule.sensitive)

    def _max(self, grades: list[str]) -> str:
        return max(grades, key=self.grades.index) if grades else self.no_entity_grade

    def grade(self, table: TableResult) -> TableResult:
        """Fill in each column's category, grade and masking default, and the table's
        suggested grade and important-data candidacy (SEC-2). Returns ``table``."""
        personal = False
        for col in table.columns:
            rules = [self.entities[e] for e in col.entities if e in self.entities]
            col.category = "、".join(dict.fromkeys(r.category for r in rules)) or None
            col.grade = self._max([r.grade for r in rules])
            if table.minors_under_14 and rules:
                col.grade = self._max([col.grade, self.minors_grade])
            strongest = max(rules, key=lambda r: self.grades.index(r.grade), default=None)
            col.masking = strongest.masking if strongest else "none"
            personal |= any(r.category.startswith("个人") or r.sensitive for r in rules)
        grades = [c.grade for c in table.columns if c.grade]
        if table.minors_under_14:
            grades.append(self.minors_grade)
        table.grade = self._max(grades)
        found = {e for c in table.columns for e in c.entities}
        sensitive = any(c.sensitive for c in table.columns)
        table.reasons = []
        for rule in self.important:
            if table.rows < rule.min_rows:
                continue
            if rule.any_sensitive and not sensitive:
                continue
            if rule.any_personal and not personal:
                continue
            if rule.all_entities and not set(rule.all_entities) <= found:
                continue
            table.reasons.append(rule.reason)
        table.important_data_candidate = bool(table.reasons)
        if table.important_data_candidate and "important" in self.grades:
            table.grade = self._max([table.grade, "important"])
        return table


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    return Rules.load(DEFAULT_RULES)
