# mirage-spt-gdb.py: gdb on mirage-spt with the unikernel's symbols: gdb -x tender/spt/mirage-spt-gdb.py --args mirage-spt [OPTS] IMAGE [ARGS]
"""The spt tender maps the unikernel's image at the addresses it was linked
for (from 1 MiB) inside its own process, so gdb on the tender debugs the
unikernel once it knows the image's symbols and the image is mapped:

  gdb -x tender/spt/mirage-spt-gdb.py --args build/bin/mirage-spt build/uk/hello.spt
  (gdb) mirage-start            # runs to where the image is mapped, not yet started
  (gdb) break mirage_main
  (gdb) continue

mirage-start adds the image named in the arguments (the first word after
the tender's own options) with add-symbol-file, then runs and stops in
the tender's spt_filter_install, after the image and guest memory are
mapped and before the guest's first instruction: from there breakpoints in
the unikernel can be set. A fault stops gdb with its signal (SIGSEGV, ...);
an abort is a SIGILL on mirage_abort's ud2 (rax holds SPT_ABORT_MAGIC)."""
import shlex

import gdb


def image_of(args):
    words = shlex.split(args)
    for i, w in enumerate(words):
        if w == "--":
            return words[i + 1] if i + 1 < len(words) else None
        if not w.startswith("-"):
            return w
    return None


class MirageStart(gdb.Command):
    """Load the unikernel's symbols and run mirage-spt up to its first instruction."""

    def __init__(self):
        super().__init__("mirage-start", gdb.COMMAND_RUNNING)

    def invoke(self, arg, from_tty):
        # gdb.parameter("args") is empty in gdb 13: the setting's text it is.
        shown = gdb.execute("show args", to_string=True)
        args = shown[shown.find('"') + 1:shown.rfind('"')] if '"' in shown else ""
        image = image_of(args)
        if image is None:
            raise gdb.GdbError("mirage-start: no image among the arguments: "
                               "gdb -x mirage-spt-gdb.py --args mirage-spt [OPTS] IMAGE [ARGS]")
        # A static ELF linked at its run-time addresses: no offset to give.
        gdb.execute("add-symbol-file %s" % shlex.quote(image), to_string=True)
        gdb.execute("tbreak spt_filter_install", to_string=True)
        gdb.execute("run", from_tty)


MirageStart()
