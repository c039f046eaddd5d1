# PHP/Laravel and Ruby/ActiveRecord for docs/recipes/laravel.md and ruby.md, from Debian 12:
# Laravel 8.83 (php-laravel-framework, with its own autoloader, since composer's registry is
# unreachable), PHP 8.2 with pdo_pgsql; ActiveRecord 6.1 with ruby-pg 1.4 on Ruby 3.1.
step "PHP (Laravel 8) and Ruby (ActiveRecord 6.1) for the recipes"
if php -r 'exit(extension_loaded("pdo_pgsql") ? 0 : 1);' 2>/dev/null \
   && [ -f /usr/share/php/Illuminate/autoload.php ] \
   && ruby -e 'require "active_record"; require "pg"; exit(ActiveRecord::VERSION::MAJOR == 6 ? 0 : 1)' 2>/dev/null; then
  echo "already installed: php $(php -r 'echo PHP_VERSION;'), laravel $(dpkg-query -W -f='${Version}' php-laravel-framework), activerecord $(ruby -e 'require "active_record"; print ActiveRecord.version'), pg $(ruby -e 'require "pg"; print PG::VERSION')"
else
  apt_install php-cli php-pgsql php-laravel-framework ruby ruby-activerecord ruby-pg
  case "$(dpkg-query -W -f='${Version}' php-laravel-framework)" in 8.*) ;; *) echo "php-laravel-framework is not 8.x" >&2; return 1 ;; esac
  ruby -e 'require "active_record"; exit(ActiveRecord::VERSION::MAJOR == 6 ? 0 : 1)' \
    || { echo "ruby-activerecord is not 6.x" >&2; return 1; }
fi
done_step
