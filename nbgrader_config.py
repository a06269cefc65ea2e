"""nbgrader configuration for the course (read by `nbgrader ...` run from the repository root).

Layout: instructor notebooks (nbgrader "source") in `solutions/<assignment>/<name>.ipynb`,
student notebooks (nbgrader "release") in `notebooks/<assignment>/<name>.ipynb`. Regenerate
the student notebooks with `make release`, never by hand. Submissions go to
`submitted/<student>/<assignment>/`; `gradebook.db`, `submitted/`, `autograded/` and
`feedback/` stay out of git.

What nbgrader 0.9.6 does with a damaged submission (checked in tests/test_nbgrader.py):

- Edited test cells and other locked cells are restored from the gradebook (the hidden tests
  come back with them).
- Deleted test cells (and deleted written-answer cells) are put back where they were, with a
  note in the cell ("This cell (id:...) was missing from the submission. It was added back
  by nbgrader."), because of `add_missing_cells`. A deleted *solution* code cell (the
  student's code) is not restored: its tests fail with a NameError.
- Duplicated cells (same grade_id, e.g. a copied solution cell): `DeduplicateIds` keeps the
  nbgrader metadata of the LAST copy only and logs "Cell with id '...' exists multiple
  times!"; the earlier copies become ordinary cells that still run, and grading goes on.
  Plain nbgrader 0.9.6 fails here (see RobustOverwriteCells below): the student gets no
  grade, or the whole autograde run stops.
- A changed cell type is changed back (code <-> markdown) with a warning.
- Errors in a cell do not stop the run (`Execute.allow_errors` is always on): the failing test
  cell scores 0 and keeps the traceback as its output, the rest is graded.
- A cell that runs longer than `timeout` is interrupted (`interrupt_on_timeout`), shows
  "CellTimeoutError: No reply from kernel before timeout" and the run goes on.
- Each kernel runs in a bubblewrap sandbox with limits (labutils/sandbox.py; the instructor
  guide lists them). A kernel that stops (it exits, is killed by a limit, or ignores the
  interrupt after the timeout) is graded all the same: the cells that ran keep their scores,
  the rest fail with `KernelStopped`, a note at the top says why, and FlagStopped flags the
  notebook for manual grading. (Plain nbgrader logs "DeadKernelError" and grades nothing.)
- Grade a class in parallel with scripts/grade.py (SQLite or PostgreSQL gradebook).
"""

from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearOutput,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from labutils.autograde import DetectTampering, StderrAsNotes, WithholdTampered
from labutils.sandbox import FlagStopped, SandboxedExecute

c = get_config()  # noqa: F821 (injected by traitlets when it loads this file)


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


class RobustOverwriteCells(OverwriteCells):
    """nbgrader 0.9.6's OverwriteCells, fixed so that a damaged submission is still graded.

    - A cell whose nbgrader metadata is left without a grade_id (the earlier copies of a
      duplicated cell, emptied by DeduplicateIds, or a cell pasted from another notebook
      whose grade_id is not in the gradebook) becomes an ordinary cell. nbgrader's own
      version then fails that student with KeyError 'grade_id' (with `add_missing_cells`) or
      stops the whole run with SchemaTooOldError (without it).
    - A deleted test cell is put back after the nearest earlier nbgrader cell that is still in
      the submission. nbgrader's own version only looks at the one cell just before it in the
      source, and fails the student with a KeyError when that one is gone too (the student
      deleted a solution cell and its tests) or is a locked, ungraded cell (a question).
    """

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if "nbgrader" in cell.metadata and not _grade_id(cell):
            del cell.metadata["nbgrader"]
        return cell, resources

    def add_missing_grade_cells(self, nb, resources):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        max_scores = {cell.name: cell.max_score for cell in source_nb.grade_cells}
        solution_ids = {cell.name for cell in source_nb.solution_cells}
        present = {_grade_id(cell) for cell in nb.cells} - {None}
        anchor = None  # the last source cell (in source order) found in the submission
        for source_cell in source_nb.source_cells:
            name = source_cell.name
            if name not in present and name in max_scores:
                self.log.warning("Missing grade cell %s encountered, adding to notebook", name)
                cell = self.missing_cell_transform(
                    source_cell, max_scores[name], is_solution=name in solution_ids
                )
                ids = [_grade_id(c) for c in nb.cells]
                nb.cells.insert(ids.index(anchor) + 1 if anchor else 0, cell)
                present.add(name)
            if name in present:
                anchor = name
        return nb, resources


c.CourseDirectory.course_id = "gan-course"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
# The gradebook lives in the course root (the default, sqlite:///<root>/gradebook.db); it is
# gitignored. Not set explicitly here, so that tools that move the root (scripts/release.py,
# the tests) also move the database.

# What students see in place of the solutions.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearSolutions.enforce_metadata = True  # solution markers outside solution cells are an error

# Grading: one kernel per submission; a cell that takes longer than `timeout` seconds is
# interrupted, marked as an error ("No reply from kernel before timeout") and grading goes on
# with the next cell. Under nbgrader the notebook trains in the seconds-long "smoke" profile:
# Lab 1's longest cell (two smoke trainings) takes ~20 s on an idle 2-core CPU, but took over
# 120 s on one shared with other jobs (torch threads slow down badly when cores are
# oversubscribed). A hanging cell costs `timeout` once per student, so be generous.
# (nbgrader's Execute redefines `timeout` with its own default of 30 s: set both sections.)
c.Execute.timeout = 300
c.ExecutePreprocessor.timeout = 300
c.Execute.interrupt_on_timeout = True  # nbgrader's default, relied on: say so
c.Execute.startup_timeout = 120  # kernel start on a loaded grading machine

# Put back autograder test cells a student deleted (with a note in the cell).
c.OverwriteCells.add_missing_cells = True
# nbgrader's sanitising steps, with OverwriteCells fixed for duplicated and deleted cells.
c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    RobustOverwriteCells,
    # Student code runs in the tests' kernel and can rig them (an IPython hook that swallows
    # errors, a patched torch.allclose, train.gan_step as the answer): check the source here,
    # before anything runs and with the locked cells restored; findings go into the notebook's
    # metadata and the log (labutils/autograde.py lists what is detected and what cannot be).
    DetectTampering,
    CheckCellMetadata,
]
# nbgrader 0.9.6's grading steps (its default list, written out), with two additions.
c.Autograde.autograde_preprocessors = [
    # nbgrader's Execute, with each kernel in a bubblewrap sandbox with limits (labutils/sandbox.py:
    # no source/, gradebook or other students, no network; memory, CPU time, processes, file
    # size, bytes written, output and the notebook's wall time bounded). A kernel stopped by a limit fails the cells that did not run and
    # adds a note at the top of the feedback; FlagStopped flags the notebook for manual grading.
    SandboxedExecute,
    # nbgrader scores a test cell 0 for any stderr output: a torch deprecation warning would
    # cost a correct answer the cell. Stderr of graded test cells becomes a stdout note;
    # errors still fail the cell.
    StderrAsNotes,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    FlagStopped,
    # A notebook DetectTampering flagged: its autograded tests count 0 and wait for manual
    # grading, set in the gradebook (outside the kernel, so the student's code cannot undo it),
    # with the reasons in a markdown cell at the top of the feedback.
    WithholdTampered,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Keep the stored outputs small: a runaway print loop cannot bloat the autograded notebook.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# Students are created when their first submission is autograded.
c.Autograde.create_student = True
