// The wizard's "Fill in the sandbox demo app": copies the demo app's values (rendered by
// json_script as #demo-app) into the app form.
document.getElementById("use-demo").addEventListener("click", function () {
  const demo = JSON.parse(document.getElementById("demo-app").textContent);
  for (const [name, value] of Object.entries(demo)) {
    const input = document.querySelector('#app-form [name="' + name + '"]');
    if (input) input.value = value;
  }
  document.querySelector('#app-form [name="label"]').value = "Sandbox demo";
});
