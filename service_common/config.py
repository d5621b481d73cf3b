"""One config layer: the YAML files trainers and the shop edit, parsed into pydantic models.

    rules = load_yaml("escalation/rules.yml", RulesFile)

A mistake raises `ConfigError` naming the file, the line, the path inside the file and
the problem: ``escalation/rules.yml:42: rules[3].when.emotion: unexpected value ...``.
Environment settings (service_common.settings) raise the same error, naming the variable,
so a service start-up catches one class. `python scripts/config_schemas.py` writes a JSON
Schema per file into docs/schemas/ for the trainers' editors (README, Configuration).
"""

from __future__ import annotations

from pathlib import Path
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterator,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

import yaml
from pydantic import (
    BaseModel,
    ConstrainedFloat,
    ConstrainedInt,
    ConstrainedStr,
    Extra,
    ValidationError,
)
from pydantic.errors import ExtraError, StrError

if TYPE_CHECKING:
    from pydantic.typing import CallableGenerator

Loc = Tuple[Union[str, int], ...]
M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file or environment variable is unusable; the message says where and why."""

    def __init__(self, source: str, problem: str, where: str = "",
                 line: Optional[int] = None) -> None:
        self.source, self.problem, self.where, self.line = source, problem, where, line
        place = f"{source}:{line}" if line else source
        super().__init__(f"{place}: {where}: {problem}" if where else f"{place}: {problem}")


class At(ValueError):
    """Raised in a validator for a problem deeper than the field it validates."""

    def __init__(self, loc: Loc, problem: str) -> None:
        super().__init__(problem)
        self.loc = loc


def unique_ids(items: Sequence[Any]) -> None:
    """For a validator: the second item whose `id` repeats an earlier one is a mistake."""
    seen = set()
    for index, item in enumerate(items):
        if item.id in seen:
            raise At((index, "id"), f"duplicate id {item.id!r}")
        seen.add(item.id)


class Model(BaseModel):
    """Base of the config models: unknown keys are mistakes, loaded values do not change."""

    class Config:
        extra = Extra.forbid
        allow_mutation = False

        @staticmethod
        def schema_extra(schema: Dict[str, Any], model: Type[BaseModel]) -> None:
            if not model.__dict__.get("__doc__"):
                schema.pop("description", None)  # not this base class's docstring


class Number(ConstrainedFloat):
    """An int or float, never a bool or a quoted text ("3" in YAML is a mistake, not 3)."""

    allow_inf_nan = False

    @classmethod
    def __get_validators__(cls) -> CallableGenerator:
        yield cls._plain_number
        yield from super().__get_validators__()

    @staticmethod
    def _plain_number(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("must be a number")
        return value


if TYPE_CHECKING:  # the values' types, for mypy
    Text = str
    Count = int
else:
    class Text(ConstrainedStr):
        """Text with something in it; a number or yes/no is a mistake (quote it in YAML)."""

        strict = True
        min_length = 1

        @classmethod
        def __get_validators__(cls) -> CallableGenerator:
            yield from super().__get_validators__()
            yield cls._not_blank

        @classmethod
        def __modify_schema__(cls, schema: Dict[str, Any]) -> None:
            super().__modify_schema__(schema)
            schema["pattern"] = r"\S"

        @staticmethod
        def _not_blank(value: str) -> str:
            if not value.strip():
                raise ValueError("must not be blank")
            return value

    class Count(ConstrainedInt):
        """A whole number >= 1 (not true/false, not a quoted number)."""

        strict = True
        ge = 1


def number(*, ge: Optional[float] = None, gt: Optional[float] = None,
           le: Optional[float] = None) -> Type[float]:
    return type("Number", (Number,), {"ge": ge, "gt": gt, "le": le})


def path_text(loc: Sequence[Union[str, int]]) -> str:
    """('rules', 3, 'when', 'emotion') -> rules[3].when.emotion"""
    text = ""
    for part in loc:
        part = "<key>" if part == "__key__" else part  # pydantic does not say which key
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _problems(errors: Sequence[Any], loc: Loc = (),
              model: Optional[Type[BaseModel]] = None) -> Iterator[Tuple[Loc, str]]:
    for wrapper in errors:
        if isinstance(wrapper, list):  # pydantic nests error lists
            yield from _problems(wrapper, loc, model)
            continue
        here = loc + tuple(part for part in wrapper.loc_tuple() if part != "__root__")
        exc = wrapper.exc
        if isinstance(exc, ValidationError):
            if here and here[-1] == exc.model.__name__:
                here = here[:-1]  # a discriminated union names the model it chose
            yield from _problems(exc.raw_errors, here, exc.model)  # type: ignore[arg-type]
        elif isinstance(exc, At):
            yield here + exc.loc, str(exc)
        elif isinstance(exc, StrError):
            yield here, "must be text (quote numbers, dates and yes/no in YAML)"
        elif isinstance(exc, ExtraError):
            known = ", ".join(model.__fields__) if model is not None else ""
            yield here, f"unknown key (known: {known})" if known else "unknown key"
        else:
            yield here, str(exc)


def _line(root: Optional[yaml.Node], loc: Loc) -> Optional[int]:
    """The line of the deepest node on the path (a missing key: its mapping's line)."""
    node, line = root, None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) \
                and part < len(node.value):
            node = node.value[part]
        else:
            node = None
    return node.start_mark.line + 1 if node is not None else line


def parse(data: Any, model: Type[M], source: str = "<config>", text: Optional[str] = None,
          extra_problems: int = 2) -> M:
    """`data` as `model`; the first problem (and how many more) becomes a ConfigError."""
    try:
        return model.parse_obj({} if data is None else data)
    except ValidationError as error:
        problems = list(_problems(error.raw_errors))
        loc, problem = problems[0] if problems else ((), str(error))
        more = len(problems) - 1
        if more:
            problem += f" (and {more} more problem{'s' if more > 1 else ''})"
        root = None
        if text is not None:
            try:
                root = yaml.compose(text, Loader=yaml.SafeLoader)
            except yaml.YAMLError:
                root = None
        raise ConfigError(source, problem, path_text(loc), _line(root, loc)) from None


def read_yaml(path: Union[str, Path]) -> Tuple[Any, str]:
    """(parsed YAML, text); unreadable or malformed files raise ConfigError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(str(path), f"cannot read the file ({error.strerror})") from None
    try:
        return yaml.safe_load(text), text
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ConfigError(str(path), f"invalid YAML: {getattr(error, 'problem', error)}",
                          line=mark.line + 1 if mark is not None else None) from None


def load_yaml(path: Union[str, Path], model: Type[M]) -> M:
    """Read and validate one config file."""
    data, text = read_yaml(path)
    return parse(data, model, str(path), text)
