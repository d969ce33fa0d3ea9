// Map viewer for /cog/{tms}/map.html: TileJSON -> Leaflet tile layer, with colormap and
// rescale controls for single-band data. Every failure is written to the status line.
//
// For automated checks the page exposes: window.__tilesLoaded (true once the current tile layer
// finished loading), window.__tileCount (tiles loaded) and window.__tileErrors (tiles failed).
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("viewer-config").textContent);
  const statusLine = document.getElementById("status");
  const controls = document.getElementById("controls");
  const colormapSelect = document.getElementById("colormap");
  const rescaleMin = document.getElementById("rescale-min");
  const rescaleMax = document.getElementById("rescale-max");
  const infoList = document.getElementById("info-list");

  window.__tilesLoaded = false;
  window.__tileCount = 0;
  window.__tileErrors = 0;

  function setStatus(message, kind) {
    statusLine.textContent = message;
    statusLine.dataset.kind = kind || "info";
  }

  function describeError(body, response) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((item) => `${(item.loc || []).join(".")}: ${item.msg}`).join("; ");
    }
    return response.statusText || "request failed";
  }

  async function fetchJSON(url, what) {
    let response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new Error(`${what}: network error (${error.message})`);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    if (!response.ok) {
      throw new Error(`${what}: HTTP ${response.status}: ${describeError(body, response)}`);
    }
    return body;
  }

  // Tile URL templates keep {z}/{x}/{y} in the path; only the query part is edited.
  function splitTemplate(template) {
    const index = template.indexOf("?");
    if (index < 0) return [template, new URLSearchParams()];
    return [template.slice(0, index), new URLSearchParams(template.slice(index + 1))];
  }

  function addInfo(term, value) {
    if (value === undefined || value === null || value === "") return;
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = Array.isArray(value) ? value.join(", ") : String(value);
    infoList.append(dt, dd);
  }

  function formatNumber(value) {
    return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/\.?0+$/, "");
  }

  const pageParams = new URLSearchParams(window.location.search);
  // Whole zoom levels only: Leaflet 1.9 asks fractional {z} tiles after setUrl otherwise.
  const map = L.map("map");
  map.attributionControl.setPrefix("Leaflet");
  let tileLayer = null;
  let templateBase = "";
  let templateParams = new URLSearchParams();
  let errorDetailShown = false;

  function tileUrl() {
    return `${templateBase}?${templateParams.toString()}`;
  }

  // An <img> cannot show the JSON error body; fetch the tile again once to read it.
  async function explainTileError(url) {
    if (errorDetailShown) return;
    errorDetailShown = true;
    try {
      await fetchJSON(url, "Tile");
      setStatus("A tile failed to load (the retry succeeded).", "error");
    } catch (error) {
      setStatus(error.message, "error");
    }
  }

  function watchTiles(layer) {
    layer.on("loading", () => {
      window.__tilesLoaded = false;
      setStatus("Loading tiles…");
    });
    layer.on("tileload", () => {
      window.__tileCount += 1;
    });
    layer.on("tileerror", (event) => {
      window.__tileErrors += 1;
      setStatus(`${window.__tileErrors} tile(s) failed to load.`, "error");
      explainTileError(event.tile.src);
    });
    layer.on("load", () => {
      window.__tilesLoaded = true;
      if (window.__tileErrors === 0) {
        setStatus(`Tiles loaded (zoom ${map.getZoom()}).`, "ok");
      }
    });
  }

  function applyControls() {
    const low = Number.parseFloat(rescaleMin.value);
    const high = Number.parseFloat(rescaleMax.value);
    if (!Number.isFinite(low) || !Number.isFinite(high) || low >= high) {
      setStatus("Rescale needs two numbers with min < max.", "error");
      return;
    }
    templateParams.set("rescale", `${low},${high}`);
    pageParams.set("rescale", `${low},${high}`);
    if (colormapSelect.value) {
      templateParams.set("colormap_name", colormapSelect.value);
      pageParams.set("colormap_name", colormapSelect.value);
    } else {
      templateParams.delete("colormap_name");
      pageParams.delete("colormap_name");
    }
    // The address bar keeps the current rendering, so the view can be shared or reloaded.
    window.history.replaceState(null, "", `?${pageParams.toString()}`);
    window.__tileErrors = 0;
    window.__tilesLoaded = false;
    errorDetailShown = false;
    if (tileLayer) tileLayer.setUrl(tileUrl());
  }

  function showInfo(info, tilejson) {
    const bands = (info.band_descriptions || []).map(([name, text]) =>
      text && text !== name ? `${name} (${text})` : name,
    );
    addInfo("Size", `${info.width} × ${info.height}`);
    addInfo("Bands", bands.length ? bands : info.count);
    addInfo("Data type", info.dtype);
    addInfo("Nodata", info.nodata_value !== undefined ? info.nodata_value : info.nodata_type);
    addInfo("CRS", info.crs);
    addInfo("Overviews", info.overviews && info.overviews.length ? info.overviews : "none");
    addInfo("Bounds", tilejson.bounds.map(formatNumber));
    addInfo("Zooms", `${tilejson.minzoom}–${tilejson.maxzoom}`);
  }

  function isSingleBand(info) {
    if (pageParams.has("expression")) return false;
    const bidx = pageParams.getAll("bidx");
    return bidx.length === 1 || (bidx.length === 0 && info.count === 1);
  }

  async function setUpControls() {
    const [colormaps, statistics] = await Promise.all([
      fetchJSON(config.colormaps_url, "Colormaps"),
      pageParams.has("rescale") ? null : fetchJSON(config.statistics_url, "Statistics"),
    ]);
    const names = (colormaps.colormaps || []).map((entry) => entry.id || entry);
    for (const name of (colormaps.colorMaps || names).slice().sort()) {
      colormapSelect.add(new Option(name, name));
    }
    if (pageParams.has("colormap")) {
      colormapSelect.disabled = true;
      colormapSelect.title = "A custom colormap is set in the page URL.";
    } else {
      colormapSelect.value = pageParams.get("colormap_name") || "";
    }

    let low;
    let high;
    if (statistics) {
      const band = Object.values(statistics)[0] || {};
      low = band.percentile_2 !== undefined ? band.percentile_2 : band.min;
      high = band.percentile_98 !== undefined ? band.percentile_98 : band.max;
    } else {
      [low, high] = pageParams.get("rescale").split(",").map(Number.parseFloat);
    }
    rescaleMin.value = formatNumber(low);
    rescaleMax.value = formatNumber(high);
    controls.hidden = false;
    controls.addEventListener("submit", (event) => {
      event.preventDefault();
      applyControls();
    });
    colormapSelect.addEventListener("change", applyControls);
    return statistics !== null;
  }

  async function main() {
    setStatus("Loading TileJSON…");
    const [tilejson, info] = await Promise.all([
      fetchJSON(config.tilejson_url, "TileJSON"),
      fetchJSON(config.info_url, "Info"),
    ]);
    const [west, south, east, north] = tilejson.bounds;
    const bounds = L.latLngBounds([south, west], [north, east]);
    L.rectangle(bounds, { color: "#c0392b", weight: 2, fill: false, interactive: false }).addTo(
      map,
    );
    // Keep the dataset clear of the panel (right) and the status line (bottom).
    const panelWidth = document.getElementById("panel").offsetWidth;
    map.fitBounds(bounds, { paddingTopLeft: [20, 20], paddingBottomRight: [panelWidth + 30, 50] });
    map.setMaxZoom(Math.max(tilejson.maxzoom + 3, 18));
    showInfo(info, tilejson);

    [templateBase, templateParams] = splitTemplate(tilejson.tiles[0]);
    let rescaleFromStatistics = false;
    if (isSingleBand(info)) {
      try {
        rescaleFromStatistics = await setUpControls();
      } catch (error) {
        setStatus(error.message, "error");
      }
    }
    if (rescaleFromStatistics) {
      templateParams.set("rescale", `${rescaleMin.value},${rescaleMax.value}`);
    }

    const tileSize = config.tilesize;
    tileLayer = L.tileLayer(tileUrl(), {
      tileSize: tileSize,
      zoomOffset: -Math.round(Math.log2(tileSize / 256)),
      bounds: bounds,
      maxZoom: 24,
    });
    watchTiles(tileLayer);
    tileLayer.addTo(map);
  }

  main().catch((error) => {
    setStatus(error.message, "error");
  });
})();
