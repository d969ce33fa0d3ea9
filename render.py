"""Render the SAM template (template.yaml) from template.yaml.j2 and TITILER_* settings.

Usage: python render.py [--output template.yaml] [--check]

Settings come from the environment and an optional `.env` file in the working directory. Bad
settings exit with status 2 and one line per problem; nothing is written in that case.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Literal

import jinja2
from dotenv import dotenv_values
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent
TEMPLATE_SOURCE = ROOT / "template.yaml.j2"
DEFAULT_OUTPUT = ROOT / "template.yaml"
DEFAULT_BASE_IMAGE = "public.ecr.aws/lambda/python:3.11"
DEFAULT_LINT_REGION = "us-east-1"

#: Retention periods CloudWatch Logs accepts, in days.
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip

#: API Gateway stops waiting for the function after this many seconds.
API_TIMEOUT_LIMIT_S: dict[str, int] = {"http": 30, "rest": 29}

#: GDAL settings tuned for Cloud Optimized GeoTIFFs read over HTTP(S) and S3.
GDAL_DEFAULTS: dict[str, str] = {
    "GDAL_CACHEMAX": "200",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_HTTP_VERSION": "2",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "VSI_CACHE": "TRUE",
    "VSI_CACHE_SIZE": "5000000",
    "CPL_VSIL_CURL_CACHE_SIZE": "200000000",
    "CPL_VSIL_CURL_CHUNK_SIZE": "262144",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.TIF,.tiff",
    "PYTHONWARNINGS": "ignore",
}

#: The app's own settings are passed to the function; TITILER_API_TYPE is a stack setting.
API_SETTINGS_PREFIX = "TITILER_API_"
STACK_ONLY_API_VARIABLES = frozenset({"TITILER_API_TYPE"})

#: Names Lambda reserves for itself; a function definition that sets one is rejected.
LAMBDA_RESERVED_VARIABLES = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
})  # fmt: skip
LAMBDA_VARIABLE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]+")
LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4096

NAME_PATTERN = re.compile(r"[a-z][a-z0-9-]*[a-z0-9]|[a-z]")
STAGE_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*[a-z0-9]|[a-z0-9]")
IMAGE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]*")
BUCKET_PATTERN = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")

#: What each setting accepts, quoted in error messages (and in the README table).
ALLOWED: dict[str, str] = {
    "project": "lowercase letters, digits and hyphens, starting with a letter, at most 64",
    "stage": "lowercase letters, digits and hyphens, at most 32",
    "memory": "an integer from 128 to 10240 (MB)",
    "timeout": "an integer from 1 to 30 (s) for an HTTP API, 1 to 29 for a REST API "
    "(Lambda allows 900, but API Gateway gives up after 30 s / 29 s)",
    "max_concurrent": "a positive integer, or empty for the account's unreserved pool",
    "architecture": "x86_64 or arm64",
    "api_type": "http or rest",
    "log_retention_days": "one of " + ", ".join(map(str, LOG_RETENTION_DAYS)),
    "base_image": "a container image reference such as " + DEFAULT_BASE_IMAGE,
    "env": "a JSON object of string (or number) values, null removes a default, "
    'e.g. {"GDAL_CACHEMAX": "512"}',
    "api_allowed_sources": "a JSON list or comma-separated list of prefixes; "
    "s3:// prefixes need a valid bucket name (3-63 of a-z 0-9 . -)",
}


class SettingsError(Exception):
    """Settings that cannot produce a deployable stack; one message per problem."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = messages


def _split_list(value: object) -> object:
    """A JSON list or a comma-separated string, parsed the way the app parses it."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)
    return [item.strip() for item in text.split(",") if item.strip()]


def check_bucket_name(bucket: str) -> str | None:
    """Why `bucket` is not a valid general purpose S3 bucket name, or None when it is."""
    if not BUCKET_PATTERN.fullmatch(bucket):
        return (
            f"bucket {bucket!r} must be 3-63 characters of lowercase letters, digits, dots and "
            "hyphens, starting and ending with a letter or digit"
        )
    if ".." in bucket:
        return f"bucket {bucket!r} must not contain two adjacent dots"
    try:
        ipaddress.IPv4Address(bucket)
    except ValueError:
        pass
    else:
        return f"bucket {bucket!r} must not be formatted as an IP address"
    if bucket.startswith(BUCKET_RESERVED_PREFIXES) or bucket.endswith(BUCKET_RESERVED_SUFFIXES):
        return f"bucket {bucket!r} uses a prefix or suffix S3 reserves"
    return None


def s3_object_pattern(source: str) -> str | None:
    """The `bucket/key-prefix*` an allowed `s3://` source needs read access to.

    None for sources that are not S3, and for a bare `s3://` (any bucket): public objects need
    no grant from this account, so no IAM statement is written for it.
    """
    if not source.lower().startswith("s3://"):
        return None
    bucket, _, key_prefix = source[len("s3://") :].partition("/")
    if not bucket:
        return None
    if problem := check_bucket_name(bucket):
        raise ValueError(problem)
    if any(wildcard in key_prefix for wildcard in "*?"):
        raise ValueError(f"prefix {source!r} must not contain IAM wildcards (* or ?)")
    return f"{bucket}/{key_prefix}*"


class StackSettings(BaseSettings):
    """Deployment settings (environment prefix `TITILER_`) for one stack."""

    model_config = SettingsConfigDict(
        env_prefix="TITILER_", env_file=".env", extra="ignore", frozen=True
    )

    project: str = Field(default="titiler", max_length=64)
    stage: str = Field(default="dev", max_length=32)
    memory: int = Field(default=1536, ge=128, le=10240)
    timeout: int = Field(default=10, ge=1, le=API_TIMEOUT_LIMIT_S["http"])
    max_concurrent: int | None = Field(default=None, ge=1)
    architecture: Literal["x86_64", "arm64"] = "x86_64"
    api_type: Literal["http", "rest"] = "http"
    log_retention_days: int = 30
    base_image: str = Field(default=DEFAULT_BASE_IMAGE, max_length=255)
    env: Annotated[dict[str, str | None], NoDecode] = Field(default_factory=dict)
    #: The app's setting, read here too so that the S3 read policy follows it.
    api_allowed_sources: Annotated[list[str] | None, NoDecode] = None

    @field_validator("project")
    @classmethod
    def _check_project(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError("not a valid project name")
        return value

    @field_validator("stage")
    @classmethod
    def _check_stage(cls, value: str) -> str:
        if not STAGE_PATTERN.fullmatch(value):
            raise ValueError("not a valid stage name")
        return value

    @field_validator("max_concurrent", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("", "none"):
            return None
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _check_retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError("CloudWatch Logs does not offer this retention period")
        return value

    @field_validator("base_image")
    @classmethod
    def _check_image(cls, value: str) -> str:
        if not IMAGE_PATTERN.fullmatch(value):
            raise ValueError("not a container image reference")
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _parse_env(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                value = json.loads(value) if value.strip() else {}
            except json.JSONDecodeError as error:
                raise ValueError(f"not valid JSON ({error.msg})") from None
        if not isinstance(value, dict):
            raise ValueError("must be a JSON object")
        parsed: dict[str, str | None] = {}
        for name, item in value.items():
            if not LAMBDA_VARIABLE_NAME.fullmatch(name) or name in LAMBDA_RESERVED_VARIABLES:
                raise ValueError(f"{name!r} is not a name Lambda accepts for a variable")
            if name.upper() == "TITILER_API_ALLOWED_SOURCES":
                raise ValueError(
                    "set TITILER_API_ALLOWED_SOURCES itself so that the S3 policy follows it"
                )
            if isinstance(item, bool) or not isinstance(item, str | int | float | None):
                raise ValueError(f"value of {name!r} must be a string, a number or null")
            parsed[name] = None if item is None else str(item)
        return parsed

    @field_validator("api_allowed_sources", mode="before")
    @classmethod
    def _parse_sources(cls, value: object) -> object:
        try:
            return _split_list(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"not valid JSON ({error.msg})") from None

    @field_validator("api_allowed_sources")
    @classmethod
    def _check_s3_sources(cls, value: list[str] | None) -> list[str] | None:
        for source in value or ():
            s3_object_pattern(source)
        return value

    @model_validator(mode="after")
    def _check_timeout_for_api(self) -> StackSettings:
        limit = API_TIMEOUT_LIMIT_S[self.api_type]
        if self.timeout > limit:
            raise ValueError(
                f"TITILER_TIMEOUT={self.timeout}: must be between 1 and {limit} (s) for "
                f"TITILER_API_TYPE={self.api_type}; the API gives up after {limit} s"
            )
        return self

    @property
    def stack_name(self) -> str:
        """The CloudFormation stack name, `{project}-lambda-{stage}`."""
        return f"{self.project}-lambda-{self.stage}"

    @property
    def s3_object_patterns(self) -> list[str]:
        """`bucket/prefix*` patterns the function may read (s3:GetObject), without duplicates."""
        patterns = (s3_object_pattern(source) for source in self.api_allowed_sources or ())
        return list(dict.fromkeys(pattern for pattern in patterns if pattern))


def read_api_settings(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """Every `TITILER_API_*` variable of `.env` and the environment (the environment wins)."""
    found: dict[str, str] = {}
    file_values = dotenv_values(env_file) if env_file is not None and env_file.is_file() else {}
    for source in (file_values, os.environ):
        for name, value in source.items():
            upper = name.upper()
            is_api_setting = upper.startswith(API_SETTINGS_PREFIX)
            if is_api_setting and upper not in STACK_ONLY_API_VARIABLES and value is not None:
                found[upper] = value
    return found


def function_environment(
    settings: StackSettings, api_settings: Mapping[str, str]
) -> dict[str, str]:
    """GDAL defaults, then the app's settings, then TITILER_ENV (where null removes a name).

    A REST API serves the app under `/<stage>/`; unless the app's root path is set explicitly,
    it is set to the stage so that the links the app builds (tile URLs, TileJSON) keep it.
    """
    stage_defaults = (
        {"TITILER_API_ROOT_PATH": f"/{settings.stage}"} if settings.api_type == "rest" else {}
    )
    merged: dict[str, str | None] = {
        **GDAL_DEFAULTS,
        **stage_defaults,
        **api_settings,
        **settings.env,
    }
    environment = {name: value for name, value in merged.items() if value is not None}
    size = sum(len(name.encode()) + len(value.encode()) for name, value in environment.items())
    if size > LAMBDA_ENVIRONMENT_LIMIT_BYTES:
        raise SettingsError(
            [
                f"TITILER_ENV and TITILER_API_*: the function environment takes {size} bytes; "
                f"Lambda allows at most {LAMBDA_ENVIRONMENT_LIMIT_BYTES}"
            ]
        )
    return environment


def render(settings: StackSettings, api_settings: Mapping[str, str], output: Path) -> str:
    """The template text for `settings`, with the Docker context relative to `output`."""
    output_directory = output.resolve().parent
    docker_context = (
        os.path.relpath(ROOT, output_directory)
        if output_directory.is_relative_to(ROOT)
        else str(ROOT)
    )
    api_url = "https://${TilerApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
    if settings.api_type == "rest":
        api_url += f"{settings.stage}/"
    loader = jinja2.FileSystemLoader(TEMPLATE_SOURCE.parent)
    jinja = jinja2.Environment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return jinja.get_template(TEMPLATE_SOURCE.name).render(
        generated_notice="Generated by render.py from template.yaml.j2: edit those, not this file.",
        description=f"TiTiler-compatible tile server on AWS Lambda "
        f"(project {settings.project}, stage {settings.stage})",
        stage=settings.stage,
        memory_mb=settings.memory,
        timeout_s=settings.timeout,
        reserved_concurrency=settings.max_concurrent,
        architecture=settings.architecture,
        api_type=settings.api_type,
        environment=function_environment(settings, api_settings),
        s3_object_patterns=settings.s3_object_patterns,
        log_retention_days=settings.log_retention_days,
        docker_context=docker_context,
        docker_tag=f"python3.11-{settings.stage}",
        base_image=settings.base_image,
        api_url=api_url,
    )


def describe_validation_error(error: ValidationError) -> list[str]:
    """One line per problem, naming the variable, what it was given and what it accepts."""
    messages = []
    for problem in error.errors():
        text = problem["msg"].removeprefix("Value error, ")
        if not problem["loc"]:
            messages.append(text)
            continue
        field = str(problem["loc"][0])
        given = str(problem["input"])
        given = given if len(given) <= 60 else given[:57] + "..."
        messages.append(
            f"TITILER_{field.upper()}={given}: {text}; allowed: {ALLOWED.get(field, '?')}"
        )
    return [" ".join(message.split()) for message in messages]


def load(env_file: Path | None = Path(".env")) -> tuple[StackSettings, dict[str, str]]:
    """Read and validate the settings; raise SettingsError listing every problem."""
    try:
        settings = StackSettings(_env_file=env_file)
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None
    return settings, read_api_settings(env_file)


@contextmanager
def _preserved_environ(*names: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in names}
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def lint(template: str, region: str = DEFAULT_LINT_REGION) -> list[str]:
    """cfn-lint errors and warnings for `template` (informational findings are ignored)."""
    from cfnlint.api import lint as cfn_lint

    # cfn-lint sets AWS_DEFAULT_REGION as a side effect; callers should not see that.
    with _preserved_environ("AWS_DEFAULT_REGION"):
        matches = cfn_lint(template, regions=[region])
    return [
        f"{match.rule.id} line {match.linenumber}: {match.message}"
        for match in matches
        if match.rule.id[0] in "EW"
    ]


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so that readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def summary(settings: StackSettings, api_settings: Mapping[str, str]) -> str:
    """What the template deploys, for people reading the terminal."""
    concurrency = settings.max_concurrent or "unreserved (account limit)"
    buckets = ", ".join(f"s3://{p}" for p in settings.s3_object_patterns) or "none"
    overrides = ", ".join(sorted(settings.env)) or "none"
    config_env = {"dev": "default", "prod": "prod"}.get(settings.stage)
    if settings.project == "titiler" and config_env:
        deploy = f"sam build && sam deploy --config-env {config_env}"
    else:
        deploy = f"sam build && sam deploy --stack-name {settings.stack_name}"
    rows = {
        "stack": f"{settings.stack_name} ({settings.api_type} API, {settings.architecture})",
        "function": f"{settings.memory} MB, {settings.timeout} s, concurrency {concurrency}",
        "image": f"BASE_IMAGE={settings.base_image}",
        "logs": f"kept {settings.log_retention_days} days",
        "S3 read": buckets,
        "TITILER_API_*": ", ".join(sorted(api_settings)) or "none",
        "TITILER_ENV": overrides,
        "deploy with": deploy,
    }
    return "\n".join(f"  {label:<14}{value}" for label, value in rows.items())


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="template to write")
    parser.add_argument(
        "--check", action="store_true", help="validate and cfn-lint in memory; write nothing"
    )
    args = parser.parse_args(argv)
    output: Path = args.output
    try:
        settings, api_settings = load()
        text = render(settings, api_settings, output)
    except SettingsError as problem:
        for message in problem.messages:
            print(f"render.py: {message}", file=sys.stderr)
        return 2
    if args.check:
        findings = lint(text, os.environ.get("AWS_REGION") or DEFAULT_LINT_REGION)
        for finding in findings:
            print(f"render.py: cfn-lint {finding}", file=sys.stderr)
        if findings:
            return 1
        print("Settings valid; cfn-lint found no errors or warnings.")
        print(summary(settings, api_settings))
        return 0
    write_atomically(output, text)
    print(f"Wrote {output}\n{summary(settings, api_settings)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
