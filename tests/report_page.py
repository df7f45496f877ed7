"""A small HTML reader for the report page's tests: its tables, links, ids and title."""

from html.parser import HTMLParser


class Page(HTMLParser):
    """The tables (rows of cell texts), the links and the element ids of an HTML page."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tables = {}  # id or data-module -> list of rows (lists of cell texts)
        self.row_links = {}  # (table key, first cell) -> hrefs in that row
        self.links = []
        self.ids = set()
        self.title = ""
        self._table = None
        self._row = None
        self._cell = None
        self._in_title = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "table":
            self._table = a.get("id") or a.get("data-module")
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row, self._row_links = [], []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
            if self._row is not None:
                self._row_links.append(a["href"])
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            if self._row:
                self.row_links[self._table, self._row[0]] = self._row_links
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.title += data
