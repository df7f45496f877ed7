# Declarations of Google's S2 geometry library (0.14, as the s2geometry wheel ships its headers
# and static libraries), one .pxd per upstream
# header under s2/, in S2's own (global) namespace. Only what hotloop calls is declared.
