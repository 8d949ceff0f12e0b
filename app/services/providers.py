"""LLM provider identifiers and the names people know them by."""
from __future__ import annotations

import re

DISPLAY_NAMES = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "azure_openai": "Azure OpenAI",
    "aws_bedrock": "AWS Bedrock",
    "mistral": "Mistral",
    "cohere": "Cohere",
    "meta": "Meta",
    "xai": "xAI",
    "deepseek": "DeepSeek",
    "groq": "Groq",
    "perplexity": "Perplexity",
}

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_]{0,63}$")


def normalize_provider(raw: str) -> str | None:
    """A provider slug ("OpenAI" -> "openai", "Azure OpenAI" -> "azure_openai"), or None if unusable."""
    slug = re.sub(r"[\s\-.]+", "_", raw.strip().lower())
    return slug if _SLUG.match(slug) else None


def display_name(slug: str) -> str:
    """The provider's proper name for display."""
    return DISPLAY_NAMES.get(slug) or slug.replace("_", " ").title()
