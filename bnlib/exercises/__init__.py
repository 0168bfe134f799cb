"""Exercise checkers. One module per chapter topic; shared machinery in ``_core``."""
from ._core import Case, Feedback, check_cases, check_choice, check_number, describe_array

__all__ = ["Case", "Feedback", "check_cases", "check_choice", "check_number", "describe_array"]
