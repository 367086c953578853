/** @jsxImportSource hono/jsx */
/**
 * @module API Reference Page — /api/docs/, rendered on the server from the OpenAPI document: no script,
 * no CDN, one inline stylesheet allowed by its hash, so it works offline and under a strict CSP.
 */
import type { Child } from "hono/jsx";
import type { OpenApiDocument } from "./document";
import type { JsonSchema, OperationObject, ParameterObject, PathItem, Ref, ResponseObject } from "./spec";

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

export const DOCS_CSS = `
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#59636e;--bg:#fff;--panel:#f6f8fa;--line:#d1d9e0;--link:#0550ae;--code:#eff2f5}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;--panel:#151b23;--line:#3d444d;--link:#74b9ff;--code:#212830}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:72rem;margin:0 auto;padding:1.5rem 1rem 4rem}
a{color:var(--link)}
h1{font-size:1.8rem;margin:.2rem 0}
h2{font-size:1.4rem;margin:2.5rem 0 .5rem;padding-bottom:.3rem;border-bottom:1px solid var(--line)}
h3{font-size:1.1rem;margin:0;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
h4{font-size:.95rem;margin:1rem 0 .3rem;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
code,pre{font:13.5px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);border-radius:4px}
code{padding:.1rem .3rem;overflow-wrap:anywhere}
pre{padding:.75rem;overflow-x:auto;margin:.3rem 0}
pre code{padding:0;background:none}
.op{border:1px solid var(--line);border-radius:8px;padding:1rem;margin:1rem 0;background:var(--panel)}
.m{font:700 12px/1 ui-monospace,monospace;padding:.35rem .5rem;border-radius:4px;color:#fff;text-transform:uppercase}
.get{background:#1f6feb}.post{background:#1a7f37}.put{background:#9a6700}.patch{background:#8250df}.delete{background:#cf222e}
.auth{font-size:12px;border:1px solid var(--line);border-radius:999px;padding:.1rem .55rem;color:var(--muted)}
.muted{color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:.3rem 0;font-size:14px}
th,td{text-align:left;vertical-align:top;border-top:1px solid var(--line);padding:.4rem .5rem}
th{color:var(--muted);font-weight:600}
.scroll{overflow-x:auto}
td:first-child code{white-space:nowrap}
td p{margin:0 0 .3rem}
.req{color:#cf222e;font-size:12px}
nav ul{columns:2 20rem;padding-left:1.2rem}
nav li{break-inside:avoid}
details summary{cursor:pointer;color:var(--link)}
`;

/** `code` spans, "- " lists and paragraphs: the little markdown the descriptions use. */
function Prose({ text }: { text: string | undefined }) {
  if (!text) return null;
  const inline = (line: string): Child[] => line.split(/`([^`]+)`/).map((part, i) => (i % 2 === 1 ? <code>{part}</code> : part));
  const blocks: Child[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    // Consecutive "- " lines make a list, other consecutive lines a paragraph, in their order.
    let run: string[] = [];
    let listRun = false;
    const flush = () => {
      if (run.length === 0) return;
      blocks.push(listRun ? <ul>{run.map((l) => <li>{inline(l.slice(2))}</li>)}</ul> : <p>{inline(run.join(" "))}</p>);
      run = [];
    };
    for (const line of block.split("\n")) {
      const isItem = line.startsWith("- ");
      if (isItem !== listRun) flush();
      listRun = isItem;
      run.push(line);
    }
    flush();
  }
  return <>{blocks}</>;
}

function refName(value: unknown): string | null {
  const target = (value as Ref | undefined)?.$ref;
  return typeof target === "string" ? target.split("/").pop()! : null;
}

/** A short type label: `string (date-time)`, `array of Note`, `integer | null`, `"last"`, links for $refs. */
function TypeLabel({ schema }: { schema: JsonSchema | undefined }): Child {
  if (!schema) return <span class="muted">any</span>;
  const name = refName(schema);
  if (name) return <a href={`#schema-${name}`}>{name}</a>;
  if ("const" in schema) return <code>{JSON.stringify(schema.const)}</code>;
  const alternatives = (schema.oneOf ?? schema.anyOf) as JsonSchema[] | undefined;
  if (alternatives) {
    return (
      <>
        {alternatives.map((alt, i) => (
          <>
            {i > 0 ? " | " : ""}
            <TypeLabel schema={alt} />
          </>
        ))}
      </>
    );
  }
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : (schema.type as string | undefined) ?? "any";
  if (type === "array") {
    return (
      <>
        array of <TypeLabel schema={schema.items as JsonSchema | undefined} />
      </>
    );
  }
  return <>{schema.format ? `${type} (${String(schema.format)})` : type}</>;
}

function constraints(schema: JsonSchema): string[] {
  const out: string[] = [];
  if (Array.isArray(schema.enum)) out.push(`one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`);
  if (schema.minLength !== undefined) out.push(`min length ${String(schema.minLength)}`);
  if (schema.maxLength !== undefined) out.push(`max length ${String(schema.maxLength)}`);
  if (schema.minimum !== undefined) out.push(`≥ ${String(schema.minimum)}`);
  if (schema.maximum !== undefined) out.push(`≤ ${String(schema.maximum)}`);
  if (schema.pattern !== undefined) out.push(`pattern ${String(schema.pattern)}`);
  if (schema.default !== undefined) out.push(`default ${JSON.stringify(schema.default)}`);
  return out;
}

/** An object schema as a table of its fields (nested objects inline); anything else as its type. */
function SchemaView({ schema, depth = 0 }: { schema: JsonSchema | undefined; depth?: number }): Child {
  if (!schema) return null;
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (!properties || refName(schema)) {
    const extra = schema.additionalProperties as JsonSchema | boolean | undefined;
    return (
      <p>
        <TypeLabel schema={schema} />
        {typeof extra === "object" ? (
          <>
            {" "}
            — keys map to <TypeLabel schema={extra} />
          </>
        ) : null}
      </p>
    );
  }
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return (
    <div class="scroll">
      <table>
        <thead>
          <tr>
            <th>field</th>
            <th>type</th>
            <th>description</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(properties).map(([name, prop]) => {
            const rules = constraints(prop);
            const nested = depth < 2 && prop.properties !== undefined;
            return (
              <tr>
                <td>
                  <code>{name}</code>
                  {required.has(name) ? <span class="req"> required</span> : null}
                  {prop.readOnly ? <span class="muted"> read-only</span> : null}
                </td>
                <td>
                  <TypeLabel schema={nested ? { type: prop.type } : prop} />
                </td>
                <td>
                  {prop.description ? String(prop.description) : null}
                  {rules.length > 0 ? <div class="muted">{rules.join("; ")}</div> : null}
                  {nested ? <SchemaView schema={prop} depth={depth + 1} /> : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {schema.additionalProperties === false ? <p class="muted">Unknown fields are refused.</p> : <p class="muted">Unknown fields are ignored (DRF).</p>}
    </div>
  );
}

function Example({ value }: { value: unknown }) {
  if (value === undefined) return null;
  return (
    <pre>
      <code>{JSON.stringify(value, null, 2)}</code>
    </pre>
  );
}

function resolveSchema(doc: OpenApiDocument, schema: JsonSchema | undefined): JsonSchema | undefined {
  const name = refName(schema);
  if (!name) return schema;
  return (doc.components.schemas as Record<string, JsonSchema>)[name];
}

function resolveResponse(doc: OpenApiDocument, response: ResponseObject | Ref): { response: ResponseObject; name: string | null } {
  const name = refName(response);
  if (!name) return { response: response as ResponseObject, name: null };
  const shared = (doc.components.responses as Record<string, ResponseObject>)[name]!;
  return { response: shared, name };
}

function Operation({ doc, path, method, op, shared }: { doc: OpenApiDocument; path: string; method: string; op: OperationObject; shared: ParameterObject[] }) {
  const parameters = [...shared, ...((op.parameters ?? []) as ParameterObject[])];
  const body = op.requestBody?.content["application/json"];
  return (
    <section class="op" id={`op-${op.operationId}`}>
      <h3>
        <span class={`m ${method}`}>{method}</span>
        <code>{path}</code>
        <span>{op.summary}</span>
        <span class="auth">{op.security.length > 0 ? "Bearer token" : "No authentication"}</span>
      </h3>
      <Prose text={op.description} />
      {parameters.length > 0 ? (
        <>
          <h4>Parameters</h4>
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th>name</th>
                  <th>in</th>
                  <th>type</th>
                  <th>description</th>
                </tr>
              </thead>
              <tbody>
                {parameters.map((p) => (
                  <tr>
                    <td>
                      <code>{p.name}</code>
                      {p.required ? <span class="req"> required</span> : null}
                    </td>
                    <td>{p.in}</td>
                    <td>
                      <TypeLabel schema={p.schema} />
                      {constraints(p.schema).length > 0 ? <div class="muted">{constraints(p.schema).join("; ")}</div> : null}
                    </td>
                    <td>
                      <Prose text={p.description} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : null}
      {body ? (
        <>
          <h4>Request body {op.requestBody!.required ? "" : "(optional)"} — application/json</h4>
          <SchemaView schema={body.schema} />
          {refName(body.schema) ? (
            <>
              <Prose text={resolveSchema(doc, body.schema)?.description as string | undefined} />
              <SchemaView schema={resolveSchema(doc, body.schema)} />
            </>
          ) : null}
          <Example value={body.example} />
        </>
      ) : null}
      <h4>Responses</h4>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>status</th>
              <th>meaning</th>
              <th>body</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(op.responses).map(([status, raw]) => {
              const { response, name } = resolveResponse(doc, raw);
              const [type, media] = Object.entries(response.content ?? {})[0] ?? [];
              return (
                <tr>
                  <td>
                    <code>{status}</code>
                  </td>
                  <td>
                    {name ? <a href={`#response-${name}`}>{name}</a> : <Prose text={response.description} />}
                  </td>
                  <td>
                    {media ? (
                      <>
                        <span class="muted">{type}</span> <TypeLabel schema={media.schema} />
                        {media.example !== undefined && !name ? (
                          <details>
                            <summary>example</summary>
                            <Example value={media.example} />
                          </details>
                        ) : null}
                      </>
                    ) : (
                      <span class="muted">none</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}

interface Listed {
  path: string;
  method: string;
  op: OperationObject;
  shared: ParameterObject[];
}

function operationsByTag(doc: OpenApiDocument): Map<string, Listed[]> {
  const byTag = new Map<string, Listed[]>(doc.tags.map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths) as Array<[string, PathItem]>) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags[0] ?? "other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ path, method, op, shared: (item.parameters ?? []) as ParameterObject[] });
    }
  }
  return byTag;
}

function DocsPage({ doc, schemaUrl }: { doc: OpenApiDocument; schemaUrl: string }) {
  const byTag = operationsByTag(doc);
  const tagInfo = new Map(doc.tags.map((t) => [t.name, t.description]));
  const schemas = doc.components.schemas as Record<string, JsonSchema>;
  const responses = doc.components.responses as Record<string, ResponseObject>;
  const scheme = (doc.components.securitySchemes as Record<string, { description: string }>).bearerAuth!;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{doc.info.title} — reference</title>
        <style dangerouslySetInnerHTML={{ __html: DOCS_CSS }} />
      </head>
      <body>
        <main>
          <h1>{doc.info.title}</h1>
          <p class="muted">
            Version {doc.info.version} · OpenAPI {doc.openapi} · machine-readable: <a href={schemaUrl}>{schemaUrl}</a>
          </p>
          <Prose text={doc.info.description} />
          <h2 id="auth">Authentication</h2>
          <p>
            HTTP <code>Authorization: Bearer &lt;access token&gt;</code> (JWT). Operations marked “Bearer token” need it.
          </p>
          <Prose text={scheme.description} />
          <nav>
            <h2 id="contents">Contents</h2>
            <ul>
              {[...byTag].map(([tag, ops]) => (
                <li>
                  <a href={`#tag-${tag}`}>{tag}</a>
                  <ul>
                    {ops.map((o) => (
                      <li>
                        <a href={`#op-${o.op.operationId}`}>
                          <code>
                            {o.method.toUpperCase()} {o.path}
                          </code>
                        </a>{" "}
                        {o.op.summary}
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
              <li>
                <a href="#errors">Error responses</a>
              </li>
              <li>
                <a href="#schemas">Schemas</a>
              </li>
            </ul>
          </nav>
          {[...byTag].map(([tag, ops]) => (
            <>
              <h2 id={`tag-${tag}`}>{tag}</h2>
              <Prose text={tagInfo.get(tag)} />
              {ops.map((o) => (
                <Operation doc={doc} path={o.path} method={o.method} op={o.op} shared={o.shared} />
              ))}
            </>
          ))}
          <h2 id="errors">Error responses</h2>
          {Object.entries(responses).map(([name, response]) => {
            const media = response.content?.["application/json"];
            return (
              <section class="op" id={`response-${name}`}>
                <h3>{name}</h3>
                <Prose text={response.description} />
                {response.headers ? (
                  <p>
                    Headers:{" "}
                    {Object.keys(response.headers).map((h) => (
                      <code>{h}</code>
                    ))}
                  </p>
                ) : null}
                {media ? (
                  <>
                    <p>
                      Body: <TypeLabel schema={media.schema} />
                    </p>
                    <Example value={media.example} />
                  </>
                ) : null}
              </section>
            );
          })}
          <h2 id="schemas">Schemas</h2>
          {Object.entries(schemas).map(([name, schema]) => (
            <section class="op" id={`schema-${name}`}>
              <h3>{name}</h3>
              <Prose text={schema.description as string | undefined} />
              <SchemaView schema={{ ...schema, description: undefined }} />
              {Array.isArray(schema.oneOf) ? (
                <ul>
                  {(schema.oneOf as JsonSchema[]).map((alt) => (
                    <li>
                      {alt.title ? <strong>{String(alt.title)}: </strong> : null}
                      <SchemaView schema={alt} depth={1} />
                    </li>
                  ))}
                </ul>
              ) : null}
              {Array.isArray(schema.examples) ? <Example value={schema.examples[0]} /> : null}
            </section>
          ))}
        </main>
      </body>
    </html>
  );
}

let rendered: Promise<string> | null = null;

/** The whole page as HTML text; rendered once per isolate (the document never changes while it runs). */
export function renderDocsPage(doc: OpenApiDocument, schemaUrl: string): Promise<string> {
  rendered ??= Promise.resolve((<DocsPage doc={doc} schemaUrl={schemaUrl} />).toString()).then((html) => `<!doctype html>${html}`);
  return rendered;
}
