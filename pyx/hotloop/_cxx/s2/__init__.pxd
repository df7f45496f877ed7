# Declarations of Google's S2 geometry library (Debian's libs2-dev), one .pxd per upstream
# header under s2/, in S2's own (global) namespace. Only what hotloop calls is declared.
