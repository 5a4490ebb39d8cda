// The Rista catalog document (GET /api/v1/catalog) turned into what the screen shows: categories in menu
// order, the items a customer can pick (Active, sold on their own), their tags, option sets and sold-out marks.

const SELLABLE = new Set(["Simple", "Variant"]);
const VEG = "Vegetarian";
const NON_VEG = "Non-vegetarian";
const EGG = "Egg";

function byDisplayOrder(a, b) {
  const da = a.displayOrder ?? Number.MAX_SAFE_INTEGER;
  const db = b.displayOrder ?? Number.MAX_SAFE_INTEGER;
  return da - db;
}

export function parseMenu(catalog) {
  const tags = new Map((catalog.itemTags || []).map((tag) => [tag.itemTagId, tag.name]));
  const optionSets = new Map((catalog.optionSets || []).map((set) => [set.optionSetId, set]));
  const soldOut = new Set((catalog.soldOutSkuCodes || []).map(String));
  const itemsById = new Map((catalog.items || []).map((item) => [item.itemId, item]));
  const items = new Map();
  for (const raw of catalog.items || []) {
    if (!SELLABLE.has(raw.type || "Simple") || (raw.status && raw.status !== "Active")) continue;
    if (raw.price === undefined || raw.price === null) continue;
    const tagNames = (raw.itemTagIds || []).map((id) => tags.get(id)).filter(Boolean);
    const sets = (raw.optionSetIds || []).map((id) => optionSets.get(id)).filter(Boolean).map((set) => ({
      id: set.optionSetId,
      name: set.displayName || set.name,
      min: set.min || 0,
      max: set.max ?? null,
      options: (set.options || []).slice().sort(byDisplayOrder).map((option) => ({
        id: option.optionId,
        name: option.optionName,
        price: option.price || 0,
        max: option.max || 1,
        isDefault: Boolean(option.isDefault),
        // An option that is itself a menu item is out when that item is sold out.
        soldOut: soldOut.has(String((itemsById.get(option.itemId) || {}).skuCode ?? "\u0000")),
      })),
    }));
    items.set(String(raw.skuCode), {
      sku: String(raw.skuCode),
      name: raw.itemName,
      description: raw.description || "",
      price: raw.price,
      categoryId: raw.categoryId,
      imageURL: raw.imageURL || "",
      tags: tagNames,
      diet: tagNames.includes(NON_VEG) ? "non-veg" : tagNames.includes(EGG) ? "egg"
        : tagNames.includes(VEG) ? "veg" : null,
      optionSets: sets,
      soldOut: soldOut.has(String(raw.skuCode)),
      displayOrder: raw.displayOrder,
    });
  }
  const categories = (catalog.categories || []).slice().sort(byDisplayOrder).map((category) => ({
    id: category.categoryId,
    name: category.name,
    items: [...items.values()].filter((item) => item.categoryId === category.categoryId).sort(byDisplayOrder),
  })).filter((category) => category.items.length > 0);
  return { categories, items, store: catalog.store || null };
}

// The customer's choices in one item's option sets are complete when every set is within its min/max and
// no option is chosen above its own max. Returns the sets that still need something.
export function missingChoices(item, chosen) {
  const missing = [];
  for (const set of item.optionSets) {
    const count = set.options.reduce((sum, option) => sum + (chosen.get(option.id) || 0), 0);
    if (count < set.min || (set.max !== null && count > set.max)) missing.push(set);
  }
  return missing;
}

// Default choices (isDefault), as Rista intends: pre-selected, sent like any other choice.
export function defaultChoices(item) {
  const chosen = new Map();
  for (const set of item.optionSets) {
    for (const option of set.options) {
      if (option.isDefault && !option.soldOut) chosen.set(option.id, 1);
    }
  }
  return chosen;
}
