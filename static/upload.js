// upload.js: drag-and-drop and a progress bar for the document upload form. Without script the
// form still posts normally; with it, the same request goes through XMLHttpRequest so progress
// can be shown, and the page reloads to show the new document.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  if (!form || !window.FormData) return;
  var zone = document.getElementById("dropzone");
  var input = document.getElementById("file");
  var bar = document.getElementById("upload-progress");
  var message = document.getElementById("upload-message");
  var token = form.querySelector("input[name=csrf_token]").value;

  function say(text) { message.textContent = text; }

  ["dragenter", "dragover"].forEach(function (ev) {
    zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (ev) {
    zone.addEventListener(ev, function (e) { e.preventDefault(); zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      say(input.files[0].name + " is ready to upload.");
    }
  });

  form.addEventListener("submit", function (e) {
    if (!input.files.length) return;
    e.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("X-CSRF-Token", token);
    bar.hidden = false;
    bar.value = 0;
    xhr.upload.addEventListener("progress", function (p) {
      if (p.lengthComputable) bar.value = Math.round(100 * p.loaded / p.total);
    });
    xhr.addEventListener("load", function () {
      if (xhr.status < 400) { window.location.reload(); return; }
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var m = doc.querySelector(".message, .problem");
      say("Upload refused: " + (m ? m.textContent : "error " + xhr.status));
      bar.hidden = true;
    });
    xhr.addEventListener("error", function () { say("The upload failed; check the connection and try again."); bar.hidden = true; });
    say("Uploading " + input.files[0].name + "…");
    xhr.send(new FormData(form));
  });
})();
