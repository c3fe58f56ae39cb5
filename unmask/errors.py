"""Every error unmask raises on purpose, under one root: :class:`UnmaskError`.

Its message is one line for the person who ran unmask (what went wrong and with which file or option), and
``exit_code`` is what the command line exits with; the CLI maps them in one place
(:func:`unmask.cli._common.exit_code_of`). Five kinds, by what the user can do about it:

======================  ====  =========================================================================================
class                   exit  raised for
======================  ====  =========================================================================================
:class:`UsageError`     2     an option, a configuration, a folder or a combination that cannot work; checked up front
:class:`ModelError`     2     a model that is missing, unknown, or not one unmask can run
:class:`DataError`      2     training data, a prepared set or a checkpoint that cannot be used as it is
:class:`InputError`     1     one photo or video that cannot be read or written (a batch records it and goes on)
:class:`JobFailed`      1     work that started and could not finish (training diverged, an export failed its check)
======================  ====  =========================================================================================

Subclasses keep the built-in base they had (``ValueError``, ``RuntimeError``, ``FileNotFoundError``, ``LookupError``)
so callers that caught those still do. Torch-, numpy- and import-free: part of the shared contract.
"""

from __future__ import annotations

EXIT_FAILED = 1
EXIT_USAGE = 2


class UnmaskError(Exception):
    """The root: a one-line message and the exit code the command line ends with."""

    exit_code: int = EXIT_FAILED


class UsageError(UnmaskError, ValueError):
    """An option value, configuration, folder or combination that cannot work (exit 2, before any work). Also a
    ``ValueError``: a value that cannot be used."""

    exit_code = EXIT_USAGE


class ModelError(UnmaskError, ValueError):
    """A model file that cannot be used, or none to use (exit 2); the message names the file or the name and the
    problem on one line. Also a ``ValueError``, as it has always been."""

    exit_code = EXIT_USAGE


class ModelNotFound(ModelError, LookupError):
    """No model of that name, or none installed for a region (also a ``LookupError``, as it has always been)."""


class DataError(UnmaskError):
    """Training data, a prepared set or a checkpoint that cannot be used as it is (exit 2)."""

    exit_code = EXIT_USAGE


class InputError(UnmaskError):
    """One photo or video that cannot be read or written (exit 1; a batch records it and goes on)."""

    exit_code = EXIT_FAILED


class JobFailed(UnmaskError):
    """Work that started and could not finish (exit 1)."""

    exit_code = EXIT_FAILED
