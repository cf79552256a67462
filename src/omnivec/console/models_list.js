// The served models, as models.list reports them (aliases included).
import { all } from "./api.js";

let cached = null;
export async function servedModels() {
  cached ??= all("/v1beta/models", "models");
  try {
    return await cached;
  } catch (e) {
    cached = null;
    throw e;
  }
}
