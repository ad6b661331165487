// The comparison view's own styles (the shared ones come from ../styles.js), themed by JupyterLab's
// CSS variables with fallbacks.

export const COMPARISON_STYLES = `
.igw-cmp-header { display: flex; gap: 12px; align-items: baseline; }
.igw-cmp-title { font-weight: 600; }
.igw-cmp-status, .igw-cmp-settings, .igw-cmp-note { font-size: var(--jp-ui-font-size0, 11px);
  color: var(--jp-ui-font-color2, #555); }
.igw-cmp-grid { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.igw-cmp-card { margin: 0; padding: 6px; width: 180px; border: 1px solid var(--jp-border-color2, #ddd);
  border-radius: 4px; background: var(--jp-layout-color1, #fff); }
.igw-cmp-card[data-sanity="fails"] { border-color: var(--jp-error-color1, #d32f2f); }
.igw-cmp-name { font-weight: 600; margin-bottom: 4px; overflow-wrap: anywhere; }
.igw-cmp-map { width: 168px; height: 168px; image-rendering: pixelated; object-fit: contain; display: block; }
.igw-cmp-pending { width: 168px; height: 168px; display: flex; align-items: center; justify-content: center;
  color: var(--jp-ui-font-color2, #555); background: var(--jp-layout-color2, #eee); }
.igw-cmp-numbers { border-collapse: collapse; font-size: var(--jp-ui-font-size0, 11px);
  font-variant-numeric: tabular-nums; margin-top: 4px; }
.igw-cmp-numbers th { text-align: left; font-weight: normal; color: var(--jp-ui-font-color2, #555);
  padding: 0 6px 0 0; vertical-align: top; white-space: nowrap; }
.igw-cmp-numbers td { padding: 0; }
`;
