;; A headless smoke test of `clanc lsp' with Eglot (tried with Debian's Emacs 28.2 and
;; elpa-eglot 1.9). Eglot takes the project root (the git root) as the workspace folder, so
;; run it on a copy of the fixture that is its own repository:
;;
;;   cargo build && cp -r fixtures/shapes/self-service /tmp/clan && git -C /tmp/clan init -q
;;   cd /tmp/clan && CLANC=$OLDPWD/target/debug/clanc CLAN_ROOT=/tmp/clan \
;;     emacs --batch -Q -l $OLDPWD/scripts/eglot-lsp-smoke.el
;;
;; It only edits the buffer. Expected: a C001 diagnostic, a hover on `press', its definition
;; in machines.nix, the machine names as completion, no diagnostics after the fix.
(dolist (d (directory-files "/usr/share/emacs/site-lisp/elpa" t "^[a-z]")) (add-to-list (quote load-path) d))
(require (quote eglot))
(require 'flymake)
(define-derived-mode nix-mode prog-mode "Nix")
(add-to-list 'eglot-server-programs `(nix-mode . (,(getenv "CLANC") "lsp")))
(defvar published nil "The last diagnostics published for site.nix.")
(cl-defmethod eglot-handle-notification :before
  (_server (_method (eql textDocument/publishDiagnostics)) &key uri diagnostics &allow-other-keys)
  (when (string-suffix-p "/site.nix" uri) (setq published diagnostics)))
(defun out (fmt &rest args) (princ (concat (apply #'format fmt args) "\n")))
(defun wait-until (pred secs)
  (let ((deadline (+ (float-time) secs)))
    (while (and (not (funcall pred)) (< (float-time) deadline))
      (accept-process-output nil 0.1))
    (funcall pred)))
(find-file (concat (getenv "CLAN_ROOT") "/modules/clan/site.nix"))
(nix-mode)
(apply (function eglot) (eglot--guess-contact))
(wait-until (lambda () (eglot-current-server)) 10)
(out "server: %s" (and (eglot-current-server) t))
;; a role naming a machine that does not exist
(goto-char (point-min)) (forward-line 12)
(insert "    roles.client.machines.ghost = { };\n")
;; Eglot sends changes from an idle timer, which never fires in batch mode: send them now.
(eglot--signal-textDocument/didChange)
(wait-until (lambda () (> (length published) 0)) 15)
(seq-doseq (d published)
  (out "diagnostic %s line %d: %s" (plist-get d :code)
       (1+ (plist-get (plist-get (plist-get d :range) :start) :line))
       (car (split-string (plist-get d :message) "\n"))))
;; hover on `press' (line 8)
(goto-char (point-min)) (forward-line 7) (search-forward "press") (backward-char 2)
(let ((hover (jsonrpc-request (eglot-current-server) :textDocument/hover
                              (eglot--TextDocumentPositionParams))))
  (out "hover: %s" (car (split-string (plist-get (plist-get hover :contents) :value) "\n"))))
(let ((def (jsonrpc-request (eglot-current-server) :textDocument/definition
                            (eglot--TextDocumentPositionParams))))
  (out "definition: %s line %d" (plist-get def :uri)
       (1+ (plist-get (plist-get (plist-get def :range) :start) :line))))
;; completion after `roles.server.machines.'
(goto-char (point-min)) (forward-line 13)
(insert "    roles.server.machines.")
(eglot--signal-textDocument/didChange)
(let* ((items (jsonrpc-request (eglot-current-server) :textDocument/completion
                               (eglot--TextDocumentPositionParams)))
       (items (if (vectorp items) items (plist-get items :items))))
  (out "completion: %s" (mapconcat (lambda (i) (plist-get i :label)) items " ")))
(delete-region (line-beginning-position) (progn (forward-line 1) (point)))
;; the fix: remove the line again
(goto-char (point-min)) (forward-line 12)
(delete-region (point) (progn (forward-line 1) (point)))
(eglot--signal-textDocument/didChange)
(wait-until (lambda () (= (length published) 0)) 15)
(out "after fix: %d diagnostics" (length published))
(let ((proc (jsonrpc--process (eglot-current-server))))
  (eglot-shutdown (eglot-current-server))
  (out "server process: %s, exit status %s" (process-status proc) (process-exit-status proc)))
(set-buffer-modified-p nil)
(kill-emacs 0)
